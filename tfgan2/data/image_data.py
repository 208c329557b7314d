"""`ImageData`, the record every source returns, and the in-memory form most sources build."""

import dataclasses
import os
import re
from typing import Callable, Union

import numpy as np
import tensorflow as tf

from tfgan2 import errors

# Images up to this many MB (as uint8 pixels) are held in memory; larger data streams.
DEFAULT_MEMORY_BUDGET_MB = 2048
SPLIT_NAMES = ('train', 'test', 'validation', 'valid', 'val')

# What `image_size` arguments take: 64 (square), (64, 48) or '64x48' (height x width).
ImageSize = Union[int, tuple[int, int], str, None]
# A local path, or a URL that tf.io.gfile reads (gs://, ram://, ...).
PathLike = Union[str, os.PathLike]
# Index arrays [K] -> (uint8 images [K, H, W, C], int32 labels [K]).
Gather = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]
# Index array [K] -> why the first of those images' files cannot be read, or None.
FindUnreadable = Callable[[np.ndarray], Union[str, None]]

_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')


class DataUnavailableError(errors.DataError):
    """The requested data is neither on this machine nor downloadable right now."""


@dataclasses.dataclass(frozen=True)
class ImageData:
    """Images (and labels) to train on or evaluate against, and what the models need to know.

    `elements` is unbatched: (image uint8 [H, W, C], label int32 [], -1 when unlabeled).
    `source` says where the images came from ('tfds:mnist', 'folder:/dir', ...), as a run
    records it; `name` is a short validated identifier that cache keys may use. `gather` maps
    int64 indices [K] to (images [K, H, W, C], labels [K]) for data that can be read in any
    order (held in memory, or files); it is None for data that can only be streamed.
    `find_unreadable`, for data read from files while training, maps indices to why the first
    of their files that cannot be read cannot be, or None."""
    name: str
    source: str
    elements: tf.data.Dataset
    image_shape: tuple[int, int, int]
    num_examples: int
    num_classes: int  # 0 when unlabeled
    class_names: tuple[str, ...] | None  # None when unlabeled
    gather: Gather | None = dataclasses.field(default=None, repr=False, compare=False)
    find_unreadable: FindUnreadable | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        checked_name(self.name)

    @property
    def labeled(self) -> bool:
        return self.num_classes > 0


def checked_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise errors.DataError(f'name={name!r} cannot name data: use 1 to 64 letters, digits, "_", "." '
                               f'or "-", starting with a letter or digit.')
    return name


def name_from(text):
    """A valid name made from a dataset name or file stem: other characters become '_'."""
    return re.sub(r'[^A-Za-z0-9_.-]', '_', text).lstrip('_.-')[:64] or 'data'


def name_from_path(path):
    """The name of the data at `path` (a folder, .npz or .npy): its file stem or folder name, or
    the parent folder's name for a split (dir/train)."""
    path = path.rstrip('/')
    stem = re.sub(r'\.(npz|npy)$', '', os.path.basename(path), flags=re.IGNORECASE)
    if stem in SPLIT_NAMES and os.path.basename(os.path.dirname(path)):
        stem = os.path.basename(os.path.dirname(path))
    return name_from(stem)


def absolute_path(path):
    """`path` as recorded in `source`: local paths made absolute, `scheme://` paths as given."""
    path = os.fspath(path)
    return path if '://' in path else os.path.abspath(os.path.expanduser(path))


def check_whole_source(source, split):
    """A source without splits serves all of itself as 'train'; another split is unavailable
    (evaluation then holds out part of the training images instead)."""
    if split != 'train':
        raise DataUnavailableError(f'{source} has no {split!r} split of its own; add one (a {split}/ '
                                   f'subfolder beside train/, or x_{split} arrays) or use it whole as train.')


def in_memory(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...] | None, name: str,
              source: str) -> ImageData:
    """ImageData held as uint8 images [N, H, W, C] and int32 labels [N] on the host, which
    `input_pipeline` shuffles by index."""
    with tf.device('/CPU:0'):
        images, labels = tf.convert_to_tensor(images), tf.convert_to_tensor(labels)

    def gather(indices):
        return tf.gather(images, indices), tf.gather(labels, indices)

    return ImageData(name, source, tf.data.Dataset.from_tensor_slices((images, labels)),
                     tuple(images.shape[1:]), int(images.shape[0]), len(class_names or ()),
                     class_names, gather)
