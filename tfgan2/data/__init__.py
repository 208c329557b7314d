"""Images to train on or evaluate against, from wherever they are, and the training input pipeline.

`load(source)` takes a TFDS name, a path (local, `gs://` or any `tf.io.gfile` filesystem) to a
folder of images, an .npz/.npy file or a folder of MNIST-format IDX files, NumPy arrays, or a
`tf.data.Dataset`, and returns an `ImageData` of uint8 images and int32 labels (-1 unlabeled).
`input_pipeline` batches one epoch of it.

Splits: a folder with a `train` subfolder holds one subfolder per split (`load(dir,
split='test')` reads `dir/test`); IDX files name theirs (train-..., t10k-... for 'test'); an
.npz may hold `x_test`/`y_test` beside `x_train`/`y_train`; other sources serve every split whole.

Data that fits the memory budget is held in memory as uint8 and shuffled by index; a larger
folder is read file by file in shuffled order; a larger TFDS dataset or `tf.data.Dataset`
streams through a bounded shuffle buffer.
"""

import os

import numpy as np
import tensorflow as tf

from tfgan2.data.arrays import from_arrays, from_file
from tfgan2.data.convert import DEFAULT_BACKGROUND, background_color
from tfgan2.data.datasets import from_dataset
from tfgan2.data.folders import IMAGE_EXTENSIONS, from_directory
from tfgan2.data.idx import DEBIAN_DATA_DIRS, IDX_FILES, from_idx, is_idx_folder, read_idx
from tfgan2.data.image_data import (
    DEFAULT_MEMORY_BUDGET_MB,
    DataUnavailableError,
    ImageData,
    ImageSize,
    PathLike,
    absolute_path,
    check_whole_source,
    checked_name,
)
from tfgan2.data.pipeline import DEFAULT_SHUFFLE_BUFFER, input_pipeline, unreadable_image
from tfgan2.data.tfds_source import from_tfds

__all__ = ['DEBIAN_DATA_DIRS', 'DEFAULT_BACKGROUND', 'DEFAULT_MEMORY_BUDGET_MB', 'DEFAULT_SHUFFLE_BUFFER',
           'DataUnavailableError', 'IDX_FILES', 'IMAGE_EXTENSIONS', 'ImageData', 'ImageSize', 'PathLike',
           'checked_name', 'from_arrays',
           'from_dataset', 'from_directory', 'from_file', 'from_idx', 'from_tfds', 'input_pipeline',
           'load', 'read_idx', 'unreadable_image']


def load(source: PathLike | np.ndarray | tf.Tensor | tuple | tf.data.Dataset, *, split: str = 'train',
         image_size: ImageSize = None, memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
         background: str = DEFAULT_BACKGROUND) -> ImageData:
    """ImageData from `source`: a TFDS name ('mnist', or 'tfds:mnist' to never read a path), a
    path to a folder of images, a folder of IDX files or an .npz/.npy file, an images array or an
    (images, labels) pair, or a `tf.data.Dataset`. image_size (64, (64, 48) or '64x48') resizes
    and centre-crops every image; data over memory_budget_mb is read from its source each epoch;
    transparent pixels of images with alpha (icons, say) take the `background` colour ('white',
    'black' or '#rrggbb')."""
    background_color(background)  # checked whether or not the images turn out to have alpha
    if isinstance(source, tf.data.Dataset):
        check_whole_source('the dataset', split)
        return from_dataset(source, image_size=image_size, memory_budget_mb=memory_budget_mb)
    if isinstance(source, (np.ndarray, tf.Tensor, tuple)):
        check_whole_source('the arrays', split)
        return from_arrays(*(source if isinstance(source, tuple) else (source,)), image_size=image_size,
                           background=background)
    text = os.fspath(source)
    if text.startswith('tfds:'):
        return _from_dataset_name(text[len('tfds:'):], split, image_size, memory_budget_mb)
    path = absolute_path(text)
    if tf.io.gfile.isdir(path):
        if is_idx_folder(path):
            return from_idx(path, split, image_size)
        return from_directory(path, split, image_size, memory_budget_mb, background)
    if tf.io.gfile.exists(path):
        return from_file(path, split, image_size, background)
    if '://' in text or text.startswith(('/', '.', '~')):
        raise DataUnavailableError(f'{path} does not exist; pass an existing file or folder.')
    return _from_dataset_name(text, split, image_size, memory_budget_mb)


def _from_dataset_name(name, split, image_size, memory_budget_mb):
    """A named dataset from Debian's package when it is installed (offline, fast), else TFDS."""
    debian_dir = DEBIAN_DATA_DIRS.get(name)
    if debian_dir and tf.io.gfile.isdir(debian_dir):
        return from_idx(debian_dir, split, image_size)
    return from_tfds(name, split, image_size, memory_budget_mb)
