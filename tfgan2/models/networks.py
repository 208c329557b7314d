"""The generator and discriminator every GAN here is built from, sized by the image.

The number of stages follows the image size: the generator projects its input to a small map
(8x8 for 32, 64 or 128 px; 7x7 for 28 px) and doubles it once per stage; the discriminator
halves the image once per stage. Widths are one per stage: 128 at the smallest map, halving
towards the image down to 32, so a larger image costs another cheap stage rather than wider ones
(the DCGAN paper's 512..64 at 64 px cost many times the 28 px step and memorised small folders:
benchmarks/RESULTS.md). Labels and codes, where a GAN has them, are mixed into the noise (a generator
may also derive its label from the noise, `LabelFromNoise`); the discriminator adds a class head
and a code head on the same features.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfgan2 import errors

MIXINGS = ('multiply', 'concat')
SMALLEST_MAP_WIDTH = 128  # default width of the stage at the smallest map
IMAGE_STAGE_WIDTH = 32  # the narrowest default width, at the image
MIN_DEFAULT_MAP = 8  # default stages halve the image until a side would drop below this


def dcgan_init():
    """The DCGAN paper's initialisation: weights from N(0, 0.02)."""
    return keras.initializers.RandomNormal(stddev=0.02)


def batch_norm():
    """BatchNormalization that, built in the scope of a strategy with several replicas,
    normalizes with the statistics of the global batch, so N replicas train as one device."""
    return layers.BatchNormalization(synchronized=tf.distribute.get_strategy().num_replicas_in_sync > 1)


def stages(image_shape, count=None):
    """(number of stages, (height, width) of the smallest map). By default sizes are halved while
    both stay even and above 8, e.g. 28 -> (2, 7x7), 32 -> (2, 8x8), 64 -> (3, 8x8); `count`
    asks for that many halvings instead (32 with 3 -> 4x4)."""
    height, width = image_shape[0], image_shape[1]
    if count is None:
        count = 0
        while height % 2 == 0 and width % 2 == 0 and min(height, width) > MIN_DEFAULT_MAP:
            height, width, count = height // 2, width // 2, count + 1
    elif count < 2 or height % 2 ** count or width % 2 ** count:
        raise errors.ConfigError(f'stages={count}: {image_shape[0]}x{image_shape[1]} images cannot be halved '
                                 f'{count} times; use at least 2 stages and at most as many halvings as both '
                                 f'sides allow.')
    else:
        height, width = height // 2 ** count, width // 2 ** count
    if count < 2:
        raise errors.ConfigError(f'Images of {image_shape[0]}x{image_shape[1]} cannot be halved twice; the '
                                 f'networks need height and width divisible by 4 (e.g. 28, 32, 64), so pass '
                                 f'an image_size such as 32 or 64.')
    return count, (height, width)


def default_widths(image_shape, role, count=None):
    """One width per stage: the generator's from the smallest map up (128, 64, 32, 32, ...), the
    discriminator's from the image down (..., 32, 64, 128)."""
    count, _ = stages(image_shape, count)
    widths = [max(SMALLEST_MAP_WIDTH // 2 ** i, IMAGE_STAGE_WIDTH) for i in range(count)]
    return tuple(widths) if role == 'generator' else tuple(reversed(widths))


def _checked_widths(widths, image_shape, role, allow_extra, count):
    count, _ = stages(image_shape, count)
    widths = tuple(int(w) for w in widths)
    if len(widths) < count or (len(widths) > count and not allow_extra) or min(widths) < 1:
        needed = f'at least {count}' if allow_extra else f'{count}'
        raise errors.ConfigError(f'{role}_widths={",".join(map(str, widths))}: {image_shape[0]}x{image_shape[1]} '
                                 f'images in {count} stages need {needed} positive widths, one per stage, e.g. '
                                 f'{",".join(map(str, default_widths(image_shape, role, count)))}.')
    return widths


class _RebuiltFromArguments(keras.Model):
    """A functional model whose config is its constructor's arguments (`self.arguments`)."""

    def get_config(self):
        return {**self.arguments, 'name': self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def normal_cdf(x):
    """The standard normal distribution's CDF: maps N(0, 1) draws to uniform ones."""
    return 0.5 * tf.math.erfc(-x / np.sqrt(2.0))


@keras.saving.register_keras_serializable(package='tfgan2')
class LabelFromNoise(layers.Layer):
    """noise [B, N] -> label int32 [B]: the normal CDF of noise[:, 0], uniform in (0, 1), looked
    up in the labels' cumulative `shares` (a non-trainable weight), so labels come in proportion
    to the shares and the same noise always gives the same label."""

    def __init__(self, num_labels, **kwargs):
        super().__init__(**{**kwargs, 'dtype': 'float32'})  # bfloat16 would blur the shares
        self.num_labels = num_labels
        self.shares = self.add_weight(shape=(num_labels,), initializer='ones', trainable=False, name='shares')
        self.shares.assign(self.shares / num_labels)

    def call(self, noise):
        boundaries = tf.cumsum(self.shares)[:-1]
        return tf.reduce_sum(tf.cast(normal_cdf(noise[:, 0])[:, tf.newaxis] >= boundaries, tf.int32), axis=1)

    def noise_with_labels(self, noise, labels):
        """`noise` with noise[:, 0] moved into the interval of `labels` at the same relative
        place, so each row draws its label and keeps the rest of its noise."""
        starts = tf.gather(tf.concat([[0.0], tf.cumsum(self.shares)[:-1]], 0), labels)
        inside = 1e-3 + (1.0 - 2e-3) * normal_cdf(noise[:, 0])  # clear of the interval's ends
        first = tf.math.ndtri(starts + inside * tf.gather(self.shares, labels))
        return tf.concat([first[:, tf.newaxis], noise[:, 1:]], axis=1)

    def get_config(self):
        return {**super().get_config(), 'num_labels': self.num_labels}


@keras.saving.register_keras_serializable(package='tfgan2')
class Generator(_RebuiltFromArguments):
    """{'noise' [B, noise_dim], 'label' int32 [B] if num_classes, 'code' [B, code_dim] if
    code_dim} -> images [B, H, W, C] in [-1, 1].

    The code joins the noise; the label's learned embedding is multiplied into that vector
    (`mixing='multiply'`, as in the Keras ACGAN example) or appended to it ('concat'). With
    `label_from_noise`, the label is not an input but derived from the noise (`LabelFromNoise`,
    the layer `label_from_noise`). `stages` doublings of the smallest map make the image
    (default by its size, `stages`); widths beyond one per stage add stride-1 layers on the
    smallest map, as the TF DCGAN tutorial has. With `skip_excitation` the map two doublings
    before the last gates the last map's channels (FastGAN's skip-layer excitation, Liu et al.
    2021): a cheap path for coarse structure to reach the fine layers."""

    def __init__(self, image_shape, noise_dim=100, num_classes=0, code_dim=0, mixing='multiply',
                 widths=None, kernel_size=4, label_from_noise=False, stages=None, skip_excitation=False,
                 **kwargs):
        if mixing not in MIXINGS:
            raise errors.ConfigError(f'mixing={mixing!r} is unknown; use one of {", ".join(MIXINGS)}.')
        image_shape = tuple(int(s) for s in image_shape)
        widths = _checked_widths(widths or default_widths(image_shape, 'generator', stages), image_shape,
                                 'generator', True, stages)
        inputs = {'noise': keras.Input((noise_dim,), name='noise')}
        vector = inputs['noise']
        if code_dim:
            inputs['code'] = keras.Input((code_dim,), name='code')
            vector = layers.Concatenate()([vector, inputs['code']])
        if num_classes:
            if label_from_noise:
                label = LabelFromNoise(num_classes, name='label_from_noise')(inputs['noise'])
            else:
                label = inputs['label'] = keras.Input((), dtype='int32', name='label')
            embedded = layers.Embedding(num_classes, noise_dim + code_dim,
                                        embeddings_initializer='glorot_normal')(label)
            vector = (layers.Multiply() if mixing == 'multiply' else layers.Concatenate())([vector, embedded])
        images = _upsample(vector, image_shape, widths, kernel_size, stages, skip_excitation)
        super().__init__(inputs, images, **kwargs)
        self.arguments = dict(image_shape=image_shape, noise_dim=noise_dim, num_classes=num_classes,
                              code_dim=code_dim, mixing=mixing, widths=widths, kernel_size=kernel_size,
                              label_from_noise=label_from_noise, stages=stages, skip_excitation=skip_excitation)


def _upsample(vector, image_shape, widths, kernel_size, count, skip_excitation):
    count, (height, width) = stages(image_shape, count)
    init = dcgan_init()
    x = layers.Dense(height * width * widths[0], use_bias=False, kernel_initializer=init)(vector)
    x = layers.LeakyReLU(0.2)(batch_norm()(x))
    x = layers.Reshape((height, width, widths[0]))(x)
    extra = len(widths) - count
    maps = [x]  # one per resolution
    for i, filters in enumerate(widths[1:]):
        x = layers.Conv2DTranspose(filters, kernel_size, strides=1 if i < extra else 2, padding='same',
                                   use_bias=False, kernel_initializer=init)(x)
        x = layers.LeakyReLU(0.2)(batch_norm()(x))
        if i < extra:
            maps[-1] = x  # a stride-1 layer: the same resolution
        else:
            maps.append(x)
    if skip_excitation:
        if len(maps) < 3:
            raise errors.ConfigError(f'skip_excitation gates the last map with the one two doublings before it, '
                                     f'so it needs at least 3 stages (these networks have {count}).')
        x = _excite(x, maps[-3])
    return layers.Conv2DTranspose(image_shape[2], kernel_size, strides=2, padding='same',
                                  activation='tanh', kernel_initializer=init)(x)


def _excite(fine, coarse):
    """`fine` [B, H, W, C] with each channel scaled by a sigmoid gate computed from `coarse`
    (skip-layer excitation): coarse pooled to 4x4, a 4x4 convolution to one vector, a 1x1 one to C."""
    height, width = coarse.shape[1], coarse.shape[2]
    if height > 4:
        coarse = layers.AveragePooling2D((height // 4, width // 4))(coarse)
    gate = layers.Conv2D(coarse.shape[-1], coarse.shape[1:3], kernel_initializer=dcgan_init())(coarse)
    gate = layers.Conv2D(fine.shape[-1], 1, activation='sigmoid', kernel_initializer=dcgan_init())(
        layers.LeakyReLU(0.1)(gate))
    return layers.Multiply()([fine, gate])


@keras.saving.register_keras_serializable(package='tfgan2')
class Discriminator(_RebuiltFromArguments):
    """images -> {'logit' [B, 1]: real or fake, 'class_logits' [B, num_classes] if num_classes,
    'fake_class_logits' [B, num_classes] if also fake_class_head (scores of the classes of
    generated images, for ACGAN's twin and discriminative classifiers), 'code_mean' [B, code_dim]
    if code_dim, 'features' [B, F]}: strided convolutions, one per stage, to the flat
    `features`, and one dense head per other output on them. With `spectral_norm` every weight
    layer is spectrally normalised (Miyato et al. 2018), which bounds how sharply the
    discriminator can change between nearby images. With `reconstruction` a small decoder
    redraws each image at 4x its last map's size from that map, and 'reconstruction_error' [B]
    is its mean absolute error against the image scaled down to that size (FastGAN's
    self-supervised discriminator, Liu et al. 2021, with L1 where they use a perceptual loss):
    trained on real images, it keeps the discriminator's features descriptive of the images
    rather than of the few cues that separate a small training set from the generator's."""

    def __init__(self, image_shape, widths=None, kernel_size=4, dropout=0.3, num_classes=0, code_dim=0,
                 fake_class_head=False, stages=None, spectral_norm=False, reconstruction=False, **kwargs):
        image_shape = tuple(int(s) for s in image_shape)
        widths = _checked_widths(widths or default_widths(image_shape, 'discriminator', stages), image_shape,
                                 'discriminator', False, stages)
        normalised = (lambda layer: layers.SpectralNormalization(layer)) if spectral_norm else (lambda layer: layer)
        images = keras.Input(image_shape, name='images')
        x = images
        for filters in widths:
            x = normalised(layers.Conv2D(filters, kernel_size, strides=2, padding='same',
                                         kernel_initializer=dcgan_init()))(x)
            x = layers.LeakyReLU(0.2)(x)
            if dropout:
                x = layers.Dropout(dropout)(x)
        last_map, features = x, layers.Flatten()(x)
        heads = {'logit': 1, 'class_logits': num_classes, 'fake_class_logits': num_classes * fake_class_head,
                 'code_mean': code_dim}
        outputs = {name: normalised(layers.Dense(size, kernel_initializer=dcgan_init(), name=name))(features)
                   for name, size in heads.items() if size}
        outputs['features'] = features
        if reconstruction:
            outputs['reconstruction_error'] = _reconstruction_error(images, last_map, kernel_size)
        super().__init__(images, outputs, **kwargs)
        self.arguments = dict(image_shape=image_shape, widths=widths, kernel_size=kernel_size,
                              dropout=dropout, num_classes=num_classes, code_dim=code_dim,
                              fake_class_head=fake_class_head, stages=stages, spectral_norm=spectral_norm,
                              reconstruction=reconstruction)


def _reconstruction_error(images, last_map, kernel_size):
    """[B]: how far a two-layer decoder of `last_map` is from `images` scaled down to 4x its size."""
    x = layers.Conv2DTranspose(last_map.shape[-1] // 2, kernel_size, strides=2, padding='same',
                               kernel_initializer=dcgan_init())(last_map)
    decoded = layers.Conv2DTranspose(images.shape[-1], kernel_size, strides=2, padding='same', activation='tanh',
                                     kernel_initializer=dcgan_init())(layers.LeakyReLU(0.2)(x))
    factor = images.shape[1] // decoded.shape[1]
    target = layers.AveragePooling2D(factor)(images) if factor > 1 else images
    error = keras.ops.cast(decoded, 'float32') - keras.ops.cast(target, 'float32')
    return keras.ops.mean(keras.ops.abs(error), axis=(1, 2, 3))
