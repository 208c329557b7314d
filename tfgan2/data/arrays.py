"""Images from NumPy: arrays in Python, and .npz/.npy files."""

import io
import os
import zipfile

import numpy as np
import tensorflow as tf

from tfgan2 import errors
from tfgan2.data.convert import (
    DEFAULT_BACKGROUND,
    color_channels,
    image_size_pair,
    pixel_range,
    resize_and_crop,
    to_uint8,
)
from tfgan2.data.image_data import (
    ImageData,
    ImageSize,
    PathLike,
    absolute_path,
    check_whole_source,
    checked_name,
    in_memory,
    name_from_path,
)
from tfgan2.data.labels import checked_labels

_RESIZE_CHUNK = 1024  # images resized at a time, bounding the float32 copy


def from_arrays(images: np.ndarray | tf.Tensor, labels: np.ndarray | None = None,
                class_names: list[str] | tuple[str, ...] | None = None, name: str = 'arrays',
                image_size: ImageSize = None, background: str = DEFAULT_BACKGROUND) -> ImageData:
    """ImageData from images [N, H, W] or [N, H, W, C] (uint8, or floats in [0, 1], [-1, 1] or
    [0, 255]; C 1 or 3, or either with alpha, composited onto `background`) and optional integer
    labels [N]; class_names default to '0'..'K-1'."""
    return arrays_data(images, labels, class_names, checked_name(name), 'arrays', image_size, background)


def arrays_data(images, labels, class_names, name, source, image_size=None, background=DEFAULT_BACKGROUND):
    """ImageData held in memory from arrays, after checking labels and pixel values."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or not len(images):
        raise errors.DataError(f'{source}: images have shape {images.shape}; pass a non-empty array '
                               f'[N, H, W] or [N, H, W, C].')
    labels, class_names = checked_labels(labels, len(images), class_names, source)
    if images.dtype != np.uint8:
        value_range = pixel_range(images.dtype, images.min(), images.max(), source)
        images = to_uint8(images, value_range).numpy()
    images = np.asarray(color_channels(images, background))
    size = image_size_pair(image_size)
    if size and images.shape[1:3] != size:
        images = np.concatenate([resize_and_crop(images[start:start + _RESIZE_CHUNK], size).numpy()
                                 for start in range(0, len(images), _RESIZE_CHUNK)])
    return in_memory(images, labels, class_names, name, source)


def from_file(path: PathLike, split: str = 'train', image_size: ImageSize = None,
              background: str = DEFAULT_BACKGROUND) -> ImageData:
    """ImageData from an .npy file of images, or an .npz file holding images as `images` or `x`
    and optionally labels as `labels` or `y` and `class_names`; per-split arrays such as
    `x_train`/`y_train` and `x_test`/`y_test` (as `keras.datasets` files have) come first."""
    path = absolute_path(path)
    kind = os.path.splitext(path)[1].lower().lstrip('.')
    if kind not in ('npz', 'npy'):
        raise errors.DataError(f'{path} is not an .npz or .npy file; pass one, a folder of images or a '
                               f'folder of IDX files.')
    source = f'{kind}:{path}'
    try:
        with tf.io.gfile.GFile(path, 'rb') as f:
            contents = np.load(io.BytesIO(f.read()), allow_pickle=False)
        if kind == 'npz':
            contents = {key: contents[key] for key in contents.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, tf.errors.OpError) as e:
        raise errors.DataError(f'{path} is not a readable .{kind} file ({_first_line(e)}); write it with '
                               f'numpy.save{"z" if kind == "npz" else ""}.') from None
    if kind == 'npy':
        images, labels, class_names = contents, None, None
    else:
        images, labels, class_names = _npz_arrays(contents, split, path)
    return arrays_data(images, labels, class_names, name_from_path(path), source, image_size, background)


def _npz_arrays(arrays, split, path):
    """(images, labels or None, class_names or None) for `split` from an .npz file's arrays (a dict)."""
    for images_key, labels_key in ((f'x_{split}', f'y_{split}'), (f'images_{split}', f'labels_{split}'),
                                   ('x', 'y'), ('images', 'labels')):
        if images_key in arrays:
            if images_key in ('x', 'images'):
                check_whole_source(path, split)
            return arrays[images_key], arrays.get(labels_key), arrays.get('class_names')
    raise errors.DataError(f'{path} holds {", ".join(arrays) or "no arrays"}; name the images '
                           f'"images" or "x" (or x_{split}), and the labels "labels" or "y".')


def _first_line(error):
    return (getattr(error, 'message', None) or str(error) or type(error).__name__).splitlines()[0]
