"""Folders of image files, laid out as `keras.utils.image_dataset_from_directory` reads them and
decoded by TensorFlow (`tf.io.decode_image`), through `tf.io.gfile` so `gs://` works too."""

import logging
import os

import numpy as np
import tensorflow as tf

from tfgan2 import errors
from tfgan2.data.arrays import arrays_data
from tfgan2.data.convert import DEFAULT_BACKGROUND, decode_image, image_size_pair, kept_channels, resize_and_crop
from tfgan2.data.image_data import (
    DEFAULT_MEMORY_BUDGET_MB,
    ImageData,
    ImageSize,
    PathLike,
    absolute_path,
    check_whole_source,
    name_from_path,
)
from tfgan2.data.labels import checked_labels

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = ('.bmp', '.gif', '.jpeg', '.jpg', '.png')  # those Keras reads from folders
_READ_BATCH = 256


def from_directory(path: PathLike, split: str = 'train', image_size: ImageSize = None,
                   memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB, background: str = DEFAULT_BACKGROUND) -> ImageData:
    """ImageData from a folder of images: class subfolders give labels and class names (sorted
    folder names, as Keras does), a flat folder is unlabeled. A folder with a `train` subfolder
    holds one subfolder per split, of which `split` is read. Without image_size every image must
    have the first one's size; colour or greyscale follows the first image, and transparent
    pixels take the `background` colour (`convert.background_color`).
    Images are decoded into memory when they fit in memory_budget_mb, else read file by file
    each epoch (and a file that cannot be read then stops training)."""
    path = _split_folder(absolute_path(path), split)
    paths, labels, class_names = _list_images(path)
    first = _first_image(paths[0])
    size = image_size_pair(image_size) or tuple(first.shape[:2])
    shape = (*size, kept_channels(first.shape[-1]))
    read = _reader(shape, resize=image_size is not None, background=background)
    name, source = name_from_path(path), f'folder:{path}'
    if len(paths) * np.prod(shape) <= memory_budget_mb * 2**20:
        logger.info('Reading %d images from %s into memory.', len(paths), path)
        images = _read_all(paths, read, shape, check_size=image_size is None)
        return arrays_data(images, labels, class_names, name, source)
    labels, class_names = checked_labels(labels, len(paths), class_names, source)
    return _read_on_demand(paths, labels, class_names, read, shape, name, source,
                           checked_size=None if image_size else shape[:2])


def _split_folder(path, split):
    """path/split when `path` holds split folders (it has a `train` subfolder), else `path`."""
    if not tf.io.gfile.isdir(path):
        raise errors.DataError(f'{path} is not a readable folder; pass a folder of images.')
    if not tf.io.gfile.isdir(os.path.join(path, 'train')):
        check_whole_source(path, split)
        return path
    chosen = os.path.join(path, split)
    if not tf.io.gfile.isdir(chosen):
        splits = sorted(entry.rstrip('/') for entry in tf.io.gfile.listdir(path))
        raise errors.DataError(f'{path} has split folders ({", ".join(splits)}) but no {split!r} one; add '
                               f'{chosen}, or pass one split folder to use it for every split.')
    return chosen


def _list_images(path):
    """(paths, labels, class_names): one label per class subfolder, in sorted-name order; a flat
    folder gives labels and class_names None."""
    entries = [entry.rstrip('/') for entry in tf.io.gfile.listdir(path) if not entry.startswith('.')]
    loose = sorted(os.path.join(path, entry) for entry in entries if _is_image(entry))
    folders = sorted(entry for entry in entries  # One isdir per non-image entry: cheap on gs://.
                     if not _is_image(entry) and tf.io.gfile.isdir(os.path.join(path, entry)))
    if not folders:
        if not loose:
            raise errors.DataError(f'{path} has no images ({", ".join(IMAGE_EXTENSIONS)}); pass a folder '
                                   f'of images, or of class folders of images.')
        return loose, None, None
    if loose:
        raise errors.DataError(f'{path} has images ({loose[0]}, ...) beside the class folders '
                               f'{", ".join(folders)}; move every image into a class folder.')
    paths, labels = [], []
    for label, folder in enumerate(folders):
        found = _images_under(os.path.join(path, folder))
        if not found:
            raise errors.DataError(f'class folder {os.path.join(path, folder)} has no images; remove it '
                                   f'or add its images.')
        paths += found
        labels += [label] * len(found)
    return paths, np.array(labels, np.int32), tuple(folders)


def _images_under(folder):
    return sorted(os.path.join(root, name) for root, _, names in tf.io.gfile.walk(folder)
                  for name in names if _is_image(name))


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _first_image(path):
    try:
        return tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except tf.errors.OpError:
        raise errors.DataError(_first_problem([path], channels=0)) from None


def _reader(shape, resize, background):
    """path -> uint8 image of `shape` (alpha composited onto `background`): resized and cropped
    when `resize`, else checked."""
    def read(path):
        image = decode_image(tf.io.read_file(path), shape[-1], background)
        if resize:
            image = resize_and_crop(image, shape[:2])
        return tf.ensure_shape(image, shape)
    return read


def _read_all(paths, read, shape, check_size):
    """All images decoded into one uint8 array; an unreadable or odd-sized file is named."""
    images = np.empty((len(paths), *shape), np.uint8)
    batches = (tf.data.Dataset.from_tensor_slices(paths).map(read, tf.data.AUTOTUNE)
               .batch(_READ_BATCH).prefetch(1))
    done = 0
    try:
        for batch in batches:
            images[done:done + len(batch)] = batch.numpy()
            done += len(batch)
    except tf.errors.OpError as error:
        size = shape[:2] if check_size else None
        problem = _first_problem(paths[done:done + _READ_BATCH], shape[-1], size)
        raise errors.DataError(problem or error.message.splitlines()[0]) from None
    return images


def _first_problem(paths, channels, size=None):
    """Why the first of `paths` that cannot be read as an image (of `size`, when given) cannot
    be, or None."""
    for path in paths:
        try:
            contents = tf.io.read_file(path)
        except tf.errors.OpError:
            return f'cannot read {path}; check that it exists and is readable.'
        try:
            image = tf.io.decode_image(contents, channels=channels, expand_animations=False)
        except tf.errors.OpError:
            return (f'{path} is not an image TensorFlow can decode (PNG, JPEG, GIF, BMP); remove or '
                    f'replace it.')
        if size and tuple(image.shape[:2]) != size:
            return (f'{path} is {image.shape[0]}x{image.shape[1]} but the first image is '
                    f'{size[0]}x{size[1]}; pass image_size= to resize and crop every image to one size.')
    return None


def _read_on_demand(paths, labels, class_names, read, shape, name, source, checked_size):
    """ImageData that decodes each file when it is needed: the images do not fit in memory. A
    file that cannot be read then stops training; `find_unreadable` names it."""
    logger.info('%s: %d images, more than the memory budget: reading them file by file.',
                 source, len(paths))
    count, names = len(paths), list(paths)

    def find_unreadable(indices):
        return _first_problem([names[i] for i in indices], shape[-1], checked_size)

    paths, labels = tf.constant(paths), tf.constant(labels)
    image_spec = tf.TensorSpec(shape, tf.uint8)

    def gather(indices):
        images = tf.map_fn(read, tf.gather(paths, indices), fn_output_signature=image_spec)
        return images, tf.gather(labels, indices)

    elements = tf.data.Dataset.from_tensor_slices((paths, labels)).map(
        lambda path, label: (read(path), label), tf.data.AUTOTUNE)
    return ImageData(name, source, elements, shape, count, len(class_names or ()), class_names, gather,
                     find_unreadable)
