"""What every source shares on the way to uint8 images: the pixel range, 1 or 3 channels, and
one size by resize and centre crop."""

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import errors

FLOAT_RANGES = ((0.0, 1.0), (-1.0, 1.0))
# The largest image side the networks are built for; a larger size is a mistake, not a request.
MAX_IMAGE_SIDE = 4096


def pixel_range(dtype, low, high, source):
    """The range that float images with values in [low, high] are in, (0, 1) or (-1, 1); None
    for uint8 images, which are used as they are. Refuses any other dtype or range."""
    dtype = tf.as_dtype(dtype)
    if dtype == tf.uint8:
        return None
    if dtype.is_floating:
        for value_range in FLOAT_RANGES:
            if value_range[0] <= low and high <= value_range[1]:
                return value_range
    raise errors.DataError(f'{source}: images are {dtype.name} with values in [{low:g}, {high:g}]; pass uint8 in '
                           f'[0, 255] or floats in [0, 1] or [-1, 1] (for example images / 255).')


def to_uint8(images, value_range):
    """Float images in `value_range` as uint8 (rounded); uint8 images (value_range None) as given."""
    if value_range is None:
        return tf.convert_to_tensor(images)
    low, high = value_range
    scaled = (tf.cast(images, tf.float32) - low) * (255.0 / (high - low))
    return tf.cast(tf.round(scaled), tf.uint8)


def kept_channels(channels):
    """How many channels images with `channels` keep: 1 (greyscale) or 3 (RGB); alpha is dropped."""
    if channels not in (1, 2, 3, 4):
        raise errors.DataError(f'images have {channels} channels; pass greyscale (1) or RGB (3) images, '
                               f'optionally with alpha.')
    return 1 if channels <= 2 else 3


def color_channels(images):
    """Images [..., C] without alpha: RGBA -> RGB, grey + alpha -> grey."""
    return images[..., :kept_channels(images.shape[-1])]


def resize_and_crop(images, size):
    """Images [..., H, W, C] scaled to cover `size` (height, width), then cropped to it around the
    centre: nothing is stretched."""
    return keras.ops.image.resize(images, size, crop_to_aspect_ratio=True, antialias=True,
                                  data_format='channels_last')


def image_size_pair(image_size):
    """(height, width) from None, 64, (64, 48) or '64x48'; None stays None."""
    if image_size is None:
        return None
    if isinstance(image_size, str):
        parts = image_size.lower().split('x')
    elif isinstance(image_size, (int, np.integer)):
        parts = [image_size]
    else:
        parts = list(image_size)
    try:
        size = tuple(int(part) for part in parts)
    except (TypeError, ValueError):
        size = ()
    size = size * 2 if len(size) == 1 else size
    if len(size) != 2 or min(size) < 1 or max(size) > MAX_IMAGE_SIDE:
        raise errors.DataError(f'image_size={image_size!r} is not an image size of at most {MAX_IMAGE_SIDE} px; '
                               f'pass 64 (square), (64, 48) or "64x48" (height x width).')
    return size
