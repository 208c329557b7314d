"""What every source shares on the way to uint8 images: the pixel range, 1 or 3 channels, and
one size by resize and centre crop."""

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import errors

FLOAT_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))
# Floats up to this are refused as neither [0, 1] nor [0, 255] pixels: they are more likely
# [0, 1] images that went slightly over than [0, 255] images darker than 2/255.
_UNCLEAR_ABOVE_ONE = 2.0
# The largest image side the networks are built for; a larger size is a mistake, not a request.
MAX_IMAGE_SIDE = 4096


def pixel_range(dtype, low, high, source):
    """The range that float images with values in [low, high] are in: (0, 1), (-1, 1), or
    (0, 255) (as `keras.utils.image_dataset_from_directory` gives); None for uint8 images, which
    are used as they are. Refuses any other dtype or range."""
    dtype = tf.as_dtype(dtype)
    if dtype == tf.uint8:
        return None
    if dtype.is_floating:
        for value_range in FLOAT_RANGES:
            if value_range[0] <= low and high <= value_range[1] and (value_range[1] < 255 or high > _UNCLEAR_ABOVE_ONE):
                return value_range
    raise errors.DataError(f'{source}: images are {dtype.name} with values in [{low:g}, {high:g}]; pass uint8 in '
                           f'[0, 255], or floats in [0, 1], [-1, 1] or [0, 255] (for example images / 255).')


def to_uint8(images, value_range):
    """Float images in `value_range` as uint8 (rounded); uint8 images (value_range None) as given."""
    if value_range is None:
        return tf.convert_to_tensor(images)
    low, high = value_range
    scaled = (tf.cast(images, tf.float32) - low) * (255.0 / (high - low))
    return tf.cast(tf.round(scaled), tf.uint8)


def kept_channels(channels):
    """How many channels images with `channels` keep: 1 (greyscale) or 3 (RGB); alpha is
    composited away (`color_channels`)."""
    if channels not in (1, 2, 3, 4):
        raise errors.DataError(f'images have {channels} channels; pass greyscale (1) or RGB (3) images, '
                               f'optionally with alpha.')
    return 1 if channels <= 2 else 3


BACKGROUNDS = {'white': (255, 255, 255), 'black': (0, 0, 0)}
DEFAULT_BACKGROUND = 'white'


def background_color(background):
    """The (R, G, B) of a background: 'white', 'black', '#rrggbb' or an (R, G, B) triple of 0-255."""
    if isinstance(background, str):
        text = background.strip().lower()
        if text in BACKGROUNDS:
            return BACKGROUNDS[text]
        if len(text) == 7 and text[0] == '#':
            try:
                return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))
            except ValueError:
                pass
    elif len(tuple(background)) == 3 and all(0 <= int(v) <= 255 for v in background):
        return tuple(int(v) for v in background)
    raise errors.DataError(f'background={background!r} is not a colour; pass white, black or #rrggbb (e.g. '
                           f'#808080 for grey).')


def color_channels(images, background=DEFAULT_BACKGROUND):
    """uint8 images [..., C] without alpha: images with an alpha channel (grey + alpha, RGBA) are
    composited onto `background` (see `background_color`), so a transparent pixel takes its
    colour rather than whatever colour the file stored under it."""
    channels = images.shape[-1]
    kept = kept_channels(channels)
    if channels == kept:
        return images
    alpha = tf.cast(images[..., -1:], tf.float32) / 255.0
    colour = background_color(background)
    fill = tf.constant(colour if kept == 3 else [0.2989 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]],
                       tf.float32)
    return tf.cast(tf.round(tf.cast(images[..., :kept], tf.float32) * alpha + fill * (1.0 - alpha)), tf.uint8)


def decode_image(contents, channels, background=DEFAULT_BACKGROUND):
    """An encoded image (PNG, JPEG, GIF, BMP) as uint8 [H, W, channels] (1 or 3), whatever it
    stores (grey, RGB, either with alpha): alpha is composited onto `background`."""
    image = tf.io.decode_image(contents, expand_animations=False)
    stored = tf.shape(image)[-1]
    rgb = tf.cond(stored >= 3, lambda: image[..., :3], lambda: tf.image.grayscale_to_rgb(image[..., :1]))
    opaque = tf.fill(tf.shape(image[..., :1]), tf.constant(255, tf.uint8))
    alpha = tf.cond(tf.equal(stored % 2, 0), lambda: image[..., -1:], lambda: opaque)
    rgb, alpha = tf.ensure_shape(rgb, [None, None, 3]), tf.ensure_shape(alpha, [None, None, 1])
    image = color_channels(tf.concat([rgb, alpha], axis=-1), background)
    if channels == 1:
        image = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8)
    return image


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
