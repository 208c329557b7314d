"""Images from a `tf.data.Dataset`: images, (image, label) pairs or {'image', 'label'} dicts as
TFDS gives them, batched or not."""

import logging
import re

import numpy as np
import tensorflow as tf

from tfgan2 import errors
from tfgan2.data.convert import color_channels, image_size_pair, kept_channels, pixel_range, resize_and_crop, to_uint8
from tfgan2.data.image_data import DEFAULT_MEMORY_BUDGET_MB, ImageData, ImageSize, checked_name, in_memory
from tfgan2.data.labels import checked_labels

logger = logging.getLogger(__name__)

_FIRST_IMAGES = 256  # images that settle the size, channels and pixel range
_READ_BATCH = 1024


def from_dataset(dataset: tf.data.Dataset, class_names: list[str] | tuple[str, ...] | None = None,
                 name: str = 'dataset', image_size: ImageSize = None,
                 memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB) -> ImageData:
    """ImageData from a finite `tf.data.Dataset`, read once: to count it, check its labels, and
    keep it in memory when it fits memory_budget_mb (else it is streamed again each epoch).
    Float images count as [0, 1], [-1, 1] or [0, 255] by their first images; later ones are
    checked. class_names default to the dataset's own `class_names`, which
    `keras.utils.image_dataset_from_directory` sets."""
    if class_names is None:
        class_names = getattr(dataset, 'class_names', None)
    return dataset_data(dataset, class_names, checked_name(name), 'dataset', image_size,
                        memory_budget_mb)


def dataset_data(dataset, class_names, name, source, image_size, memory_budget_mb):
    elements, labeled = image_label_elements(dataset)
    shape, channels, value_range = _judge_first_images(elements, image_size, source)
    elements = uint8_elements(elements, channels, value_range, shape, image_size is not None, source)
    images, labels = _read_once(elements, memory_budget_mb, source)
    labels, class_names = checked_labels(labels if labeled else None, len(labels), class_names, source)
    if images is not None:
        return in_memory(images, labels, class_names, name, source)
    return streamed(elements, shape, len(labels), class_names, name, source)


def image_label_elements(dataset):
    """(unbatched dataset of (image, label), labeled) from any element structure `from_dataset`
    takes; the label is -1 when there is none."""
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise errors.DataError('the dataset repeats forever; pass it without .repeat().')
    spec = dataset.element_spec
    if isinstance(spec, dict) and 'image' in spec:
        image_spec, label_spec = spec['image'], spec.get('label')
        split = lambda element: (element['image'], element.get('label'))  # noqa: E731
    elif isinstance(spec, tuple) and len(spec) == 2:
        image_spec, label_spec = spec
        split = lambda image, label: (image, label)  # noqa: E731
    elif isinstance(spec, tf.TensorSpec):
        image_spec, label_spec = spec, None
        split = lambda image: (image, None)  # noqa: E731
    else:
        raise errors.DataError(f'the dataset yields {spec}; pass one of images, (image, label) pairs or '
                               f'{{"image", "label"}} dicts.')
    batched = _is_batched(image_spec, label_spec)

    def image_and_label(*element):
        image, label = split(*element)
        if label is None:
            label = tf.fill(tf.shape(image)[:1], tf.constant(-1, tf.int64)) if batched else -1
        return image, tf.reshape(label, [-1] if batched else [])

    elements = dataset.map(image_and_label)
    return (elements.unbatch() if batched else elements), label_spec is not None


def _is_batched(image_spec, label_spec):
    rank = image_spec.shape.rank
    if rank not in (3, 4):
        raise errors.DataError(f'the dataset yields images of shape {image_spec.shape}; pass images '
                               f'[H, W, C] or batches of them [B, H, W, C].')
    batched = rank == 4
    label_shape = label_spec.shape[int(batched):] if label_spec is not None else []
    if label_shape not in ([], [1]):
        raise errors.DataError(f'the dataset yields labels of shape {label_spec.shape}; pass one integer '
                               f'class per image (for one-hot labels, their argmax).')
    return batched


def _judge_first_images(elements, image_size, source):
    """(uint8 image shape to produce, channels given, pixel range) from the first images."""
    first = [image.numpy() for image, _ in elements.take(_FIRST_IMAGES)]
    if not first:
        raise errors.DataError(f'{source}: no images.')
    shapes = {image.shape for image in first}
    if len({shape[-1] for shape in shapes}) > 1:
        raise errors.DataError(f'{source}: images with different channel counts '
                               f'({", ".join(sorted({str(shape[-1]) for shape in shapes}))}); pass one kind.')
    if image_size is None and len(shapes) > 1:
        raise errors.DataError(_size_error(first[0].shape, source))
    value_range = pixel_range(first[0].dtype, min(image.min() for image in first),
                              max(image.max() for image in first), source)
    size = image_size_pair(image_size) or first[0].shape[:2]
    return (*size, kept_channels(first[0].shape[-1])), first[0].shape[-1], value_range


def uint8_elements(elements, channels, value_range, shape, resize, source):
    """`elements` with images as uint8 of `shape`: float pixels converted from `value_range`
    (and checked to be in it), alpha dropped, resized and cropped when `resize` (else checked)."""
    def convert(image, label):
        image = tf.ensure_shape(image, [None, None, channels])
        if value_range is not None:
            low, high = (tf.cast(bound, image.dtype) for bound in value_range)
            message = (f'{source}: an image has values outside [{value_range[0]:g}, '
                       f'{value_range[1]:g}], the range of its first images; pass all images in '
                       f'one range: [0, 1], [-1, 1] or [0, 255].')
            tf.debugging.assert_greater_equal(image, low, message=message)
            tf.debugging.assert_less_equal(image, high, message=message)
        image = color_channels(to_uint8(image, value_range))
        if resize:
            image = resize_and_crop(image, shape[:2])
        else:
            tf.debugging.assert_equal(tf.shape(image)[:2], shape[:2], message=_size_error(shape, source))
        return tf.ensure_shape(image, shape), label
    return elements.map(convert, tf.data.AUTOTUNE)


def _size_error(shape, source):
    return (f'{source}: images of different sizes (the first is {shape[0]}x{shape[1]}); pass '
            f'image_size= to resize and crop them to one size.')


def _read_once(elements, memory_budget_mb, source):
    """(images uint8 [N, H, W, C], or None when they exceed the budget; labels [N]) in one pass."""
    budget, size = memory_budget_mb * 2**20, 0
    chunks, labels = [], []
    try:
        for images, batch_labels in elements.batch(_READ_BATCH).prefetch(1):
            labels.append(batch_labels.numpy())
            size += images.shape.num_elements()
            if size <= budget:
                chunks.append(images.numpy())
    except tf.errors.OpError as error:
        ours = re.search(r'assertion failed: \[(.*?)\] \[Condition', error.message)
        raise errors.DataError(ours.group(1) if ours else
                               f'{source}: cannot be read: {error.message.splitlines()[0]}') from None
    return (np.concatenate(chunks) if size <= budget else None), np.concatenate(labels)


def streamed(elements, shape, num_examples, class_names, name, source):
    """ImageData that reads `elements` in order each epoch: too large to hold in memory."""
    logger.info('%s: %d images, more than the memory budget: streaming them each epoch.',
                 source, num_examples)
    elements = elements.map(lambda image, label: (image, tf.cast(label, tf.int32)))
    return ImageData(name, source, elements, shape, num_examples, len(class_names or ()), class_names)
