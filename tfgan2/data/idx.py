"""MNIST-format IDX files (optionally gzipped), as the MNIST family and Debian's packages ship them."""

import gzip
import os
import zlib

import numpy as np
import tensorflow as tf

from tfgan2 import errors
from tfgan2.data.arrays import arrays_data
from tfgan2.data.image_data import DataUnavailableError, ImageData, ImageSize, PathLike, absolute_path, name_from_path

IDX_FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
             'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}

# Where Debian packages put MNIST-format files (`apt-get install dataset-fashion-mnist`), and
# the class names those files do not carry.
DEBIAN_DATA_DIRS = {'fashion_mnist': '/usr/share/datasets/fashion-mnist'}
CLASS_NAMES = {'fashion_mnist': ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                                 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'),
               0x0C: np.dtype('>i4'), 0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}


def read_idx(path: str) -> np.ndarray:
    """Reads one IDX file (gzipped when it ends in .gz) into a numpy array of its declared dtype
    and shape."""
    with tf.io.gfile.GFile(path, 'rb') as f:
        data = f.read()
    if path.endswith('.gz'):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise errors.DataError(f'{path} is not a complete gzip file ({e}); download it again.') from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise errors.DataError(f'{path} is not an IDX file (bad magic number {data[:4].hex()}).')
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise errors.DataError(f'{path} is truncated or corrupt: header says shape {shape} '
                               f'({expected} bytes) but {len(data) - header} bytes follow.')
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def is_idx_folder(path):
    return any(_idx_file(path, stem) for stems in IDX_FILES.values() for stem in stems)


def from_idx(path: PathLike, split: str = 'train', image_size: ImageSize = None, name: str | None = None,
             class_names: tuple[str, ...] | None = None) -> ImageData:
    """ImageData from a folder of MNIST-format IDX files (train-images-idx3-ubyte[.gz],
    train-labels-idx1-ubyte[.gz], and t10k-... for split='test'). Debian's folders give their
    dataset's name and class names; others are named after the folder, with classes '0'..'K-1'."""
    path = absolute_path(path)
    debian_name = next((known for known, folder in DEBIAN_DATA_DIRS.items() if folder == path), None)
    name = name or debian_name or name_from_path(path)
    class_names = class_names or CLASS_NAMES.get(debian_name)
    if split not in IDX_FILES:
        raise errors.DataError(f'split={split!r}: IDX folders hold the splits {", ".join(IDX_FILES)}.')
    if not tf.io.gfile.isdir(path):
        raise DataUnavailableError(f'{path} is not a readable folder; pass a folder of MNIST-format '
                                   f'IDX files.')
    image_file, label_file = (_required_idx_file(path, stem) for stem in IDX_FILES[split])
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim not in (3, 4) or not len(images):
        raise errors.DataError(f'{image_file} holds no images (an array of shape {images.shape}); pass '
                               f'a folder of MNIST-format image files.')
    if labels.ndim != 1 or len(labels) != len(images):
        raise errors.DataError(f'{image_file} has {len(images)} images but {label_file} has labels of '
                               f'shape {labels.shape}; use image and label files of the same release.')
    return arrays_data(images, labels, class_names, name, f'idx:{path}', image_size)


def _idx_file(folder, stem):
    for path in (os.path.join(folder, stem), os.path.join(folder, stem + '.gz')):
        if tf.io.gfile.exists(path):
            return path
    return None


def _required_idx_file(folder, stem):
    path = _idx_file(folder, stem)
    if path is None:
        all_stems = [stem for stems in IDX_FILES.values() for stem in stems]
        raise DataUnavailableError(f'{folder} has no {stem}[.gz]; pass a folder of MNIST-format IDX '
                                   f'files ({", ".join(all_stems)}, optionally .gz).')
    return path
