"""Everything about input data: sources (TFDS, IDX files, Debian's package) and the tf.data pipeline.

`load_dataset` turns a dataset name into `(image, label)` pairs with images float32 in [-1, 1]
and a channel axis, labels int32. `input_pipeline` batches them for one epoch of training.
"""

import dataclasses
import gzip
import os
import socket

import numpy as np
import tensorflow as tf

# Datasets the models are known to handle, with their class names (for logs and grids).
CLASS_NAMES = {
    'mnist': [str(d) for d in range(10)],
    'fashion_mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                      'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    'kmnist': ['o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo'],
    'cifar10': ['airplane', 'automobile', 'bird', 'cat', 'deer',
                'dog', 'frog', 'horse', 'ship', 'truck'],
}

# Where Debian packages put MNIST-format files (`apt-get install dataset-fashion-mnist`).
DEBIAN_DATA_DIRS = {'fashion_mnist': '/usr/share/datasets/fashion-mnist'}

IDX_FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
             'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'),
               0x0C: np.dtype('>i4'), 0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}


class DataUnavailableError(RuntimeError):
    """The requested data is neither on disk nor downloadable right now."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """A loaded split and what the models need to know about it."""
    name: str
    dataset: tf.data.Dataset  # (image float32 [H, W, C] in [-1, 1], label int32 [])
    image_shape: tuple
    num_classes: int
    num_examples: int
    class_names: list
    source: str  # human-readable origin, for logs


@dataclasses.dataclass(frozen=True)
class ImageData:
    """Images (and labels) to train on or evaluate against, and what the models need to know.

    `elements` is unbatched: (image uint8 [H, W, C], label int32 [], -1 when unlabeled).
    `source` says where the images came from ('tfds:mnist', 'folder:/dir', ...), as a run
    records it; `name` is a short validated identifier that cache keys may use."""
    name: str
    source: str
    elements: tf.data.Dataset
    image_shape: tuple
    num_examples: int
    num_classes: int  # 0 when unlabeled
    class_names: tuple | None  # None when unlabeled

    @property
    def labeled(self):
        return self.num_classes > 0


def read_idx(path):
    """Reads one IDX file (optionally gzipped) into a numpy array of its declared dtype and shape."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f'{path} is not an IDX file (bad magic number {data[:4].hex()}).')
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f'{path} is truncated or corrupt: header says shape {shape} '
                         f'({expected} bytes) but {len(data) - header} bytes follow.')
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _find_idx_file(data_dir, stem):
    for name in (stem, stem + '.gz'):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise DataUnavailableError(
        f'{data_dir} has no {stem}[.gz]. Point --data_dir at a folder of MNIST-format IDX files '
        f'({", ".join(IDX_FILES["train"] + IDX_FILES["test"])}, optionally .gz).')


def load_idx_arrays(data_dir, split='train'):
    """Returns (images uint8 [N, H, W, C], labels int32 [N]) read from IDX files in data_dir."""
    if not os.path.isdir(data_dir):
        raise DataUnavailableError(f'--data_dir={data_dir} is not a readable directory.')
    image_stem, label_stem = IDX_FILES[split]
    images = read_idx(_find_idx_file(data_dir, image_stem))
    labels = read_idx(_find_idx_file(data_dir, label_stem)).astype(np.int32)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f'{data_dir}: images {images.shape} and labels {labels.shape} do not pair up.')
    return images.astype(np.uint8), labels


def _tfds_reachable(timeout_s=3.0):
    """True when the TFDS download host answers; a quick probe instead of TFDS's minutes of retries."""
    try:
        socket.create_connection(('storage.googleapis.com', 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def _offline_message(name):
    debian = ('`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu, works offline), or '
              if name == 'fashion_mnist' else '')
    return (f'Dataset {name!r} is not on this machine and its download server cannot be reached. '
            f'Either {debian}pass --data_dir=DIR with MNIST-format IDX files '
            f'(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], ...), '
            f'or run once with internet access so TFDS can download {name!r}.')


def _load_tfds(name, split):
    import tensorflow_datasets as tfds  # Imported lazily: it is slow to import and often unused.
    try:
        builder = tfds.builder(name)
    except Exception as e:  # TFDS raises its own DatasetNotFoundError subclasses.
        raise ValueError(f'Unknown dataset {name!r}: {e}. Use a TFDS name such as '
                         f'{", ".join(sorted(CLASS_NAMES))}, or --data_dir with IDX files.') from None
    if not builder.is_prepared():
        if not _tfds_reachable():
            raise DataUnavailableError(_offline_message(name))
        builder.download_and_prepare()
    info = builder.info
    dataset = builder.as_dataset(split=split, as_supervised=True)
    shape = tuple(info.features['image'].shape)
    num_classes = info.features['label'].num_classes
    names = list(info.features['label'].names)
    return dataset, shape, num_classes, info.splits[split].num_examples, names, f'tfds:{name}'


def _scale(image, label):
    return (tf.cast(image, tf.float32) - 127.5) / 127.5, tf.cast(label, tf.int32)


def from_arrays(images, labels=None, class_names=None, name='arrays', source='arrays'):
    """ImageData of uint8 images [N, H, W, C] and optional int labels [N] (temporary, minimal)."""
    images = np.asarray(images, np.uint8)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    num_classes = 0 if labels is None else int(np.max(labels)) + 1
    labels = np.full(len(images), -1, np.int32) if labels is None else np.asarray(labels, np.int32)
    if num_classes and class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    data = ImageData(name, source, tf.data.Dataset.from_tensor_slices((images, labels)),
                     tuple(images.shape[1:]), len(images), num_classes,
                     tuple(class_names[:num_classes]) if num_classes else None)
    _ARRAYS[id(data)] = (tf.constant(images), tf.constant(labels))
    return data


_ARRAYS = {}


def load_dataset(name='fashion_mnist', data_dir=None, split='train'):
    """IDX files (temporary, minimal)."""
    idx_dir = data_dir or DEBIAN_DATA_DIRS.get(name)
    images, labels = load_idx_arrays(idx_dir, split)
    return from_arrays(images, labels, CLASS_NAMES.get(name), name, f'idx:{idx_dir}')


def input_pipeline(data, batch_size, seed, epoch=0, start=0, stop=None):
    """One epoch: images [start, stop) of the (seed, epoch) permutation, batched (temporary)."""
    images, labels = _ARRAYS[id(data)]
    order = tf.random.experimental.stateless_shuffle(tf.range(data.num_examples), seed=[seed, epoch])
    order = order[start:stop]
    return (tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
            .map(lambda i: ((tf.cast(tf.gather(images, i), tf.float32) - 127.5) / 127.5, tf.gather(labels, i)))
            .prefetch(tf.data.AUTOTUNE))
