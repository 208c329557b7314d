"""Any TensorFlow Datasets (TFDS) dataset with an `image` feature, labelled by its `label`
feature when it has one."""

import numpy as np

from tfgan2 import errors, storage
from tfgan2.data.convert import image_size_pair, kept_channels
from tfgan2.data.datasets import dataset_data, image_label_elements, streamed, uint8_elements
from tfgan2.data.image_data import DEFAULT_MEMORY_BUDGET_MB, DataUnavailableError, ImageData, ImageSize, name_from


def from_tfds(name: str, split: str = 'train', image_size: ImageSize = None,
              memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB) -> ImageData:
    """ImageData from the TFDS dataset `name` (downloaded and prepared when it is not yet).
    Datasets whose images vary in size need image_size (resize + centre crop). Held in memory
    when it fits memory_budget_mb, else streamed each epoch."""
    try:
        import tensorflow_datasets as tfds  # Imported here: slow to import and often unused.
    except ImportError:
        raise DataUnavailableError(f'Loading {name!r} from TFDS needs tensorflow-datasets: pip install '
                                   f'"tfgan2[tfds]", or pass a folder, .npz or IDX files.') from None
    builder = _prepared_builder(tfds, name)
    features = builder.info.features
    if not isinstance(_feature(features, 'image'), tfds.features.Image):
        raise errors.DataError(f'TFDS dataset {name!r} has no "image" feature; pass a dataset of images.')
    if features['image'].np_dtype != np.uint8:
        raise errors.DataError(f'TFDS dataset {name!r} has {features["image"].np_dtype} images; pass a '
                               f'dataset of uint8 images.')
    labeled = isinstance(_feature(features, 'label'), tfds.features.ClassLabel)
    height, width, channels = features['image'].shape
    if image_size is None and None in (height, width):
        raise errors.DataError(f'TFDS dataset {name!r} has images of varying size; pass image_size= '
                               f'(for example 64) to resize and crop them to one size.')
    dataset = _split(builder, split, name).map(
        lambda example: {key: example[key] for key in (('image', 'label') if labeled else ('image',))})
    class_names = tuple(features['label'].names) if labeled else None
    data_name, source = name_from(name.split(':')[0]), f'tfds:{name}'
    shape = (*(image_size_pair(image_size) or (height, width)), kept_channels(channels))
    count = int(dataset.cardinality())
    if count * np.prod(shape) <= memory_budget_mb * 2**20:
        return dataset_data(dataset, class_names, data_name, source, image_size, memory_budget_mb)
    elements, _ = image_label_elements(dataset)
    elements = uint8_elements(elements, channels, None, shape, image_size is not None, source)
    return streamed(elements, shape, count, class_names, data_name, source)


def _feature(features, key):
    return features[key] if key in features.keys() else None


def _prepared_builder(tfds, name):
    try:
        builder = tfds.builder(name)
    except Exception:  # TFDS raises its own DatasetNotFoundError and friends.
        raise errors.DataError(f'{name!r} is neither a file or folder nor a TFDS dataset; pass a path, or '
                               f'a name from https://www.tensorflow.org/datasets/catalog.') from None
    if not builder.is_prepared():
        if not _tfds_reachable():
            raise DataUnavailableError(_offline_message(name))
        builder.download_and_prepare()
    return builder


def _split(builder, split, name):
    try:
        return builder.as_dataset(split=split, shuffle_files=False)
    except (KeyError, ValueError):
        splits = ', '.join(builder.info.splits) or 'none known'
        raise errors.DataError(f'TFDS dataset {name!r} has no split {split!r}; pass split= one of '
                               f'{splits}.') from None


def _tfds_reachable():
    """True when the TFDS download host answers: a quick probe instead of TFDS's minutes of retries."""
    return storage.host_reachable('storage.googleapis.com')


def _offline_message(name):
    debian = ('`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu, works offline), or '
              if name == 'fashion_mnist' else '')
    return (f'Dataset {name!r} is not on this machine and its download server cannot be reached. '
            f'Either {debian}load a local copy instead (a folder of images, an .npz/.npy file, or '
            f'MNIST-format IDX files such as train-images-idx3-ubyte[.gz]), or run once with '
            f'internet access so TFDS can download {name!r}.')
