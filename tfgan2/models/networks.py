"""Convolutional building blocks shared by every GAN: a vector-to-image upsampler and an
image-to-features downsampler. Each model module adds its own conditioning and heads."""

import keras
import tensorflow as tf
from keras import layers

# DCGAN paper (Radford et al. 2016): weights from N(0, 0.02).
def dcgan_init():
    return keras.initializers.RandomNormal(stddev=0.02)


def batch_norm():
    """BatchNormalization that, built in the scope of a strategy with several replicas,
    normalizes with the statistics of the global batch (all-reduced) rather than of each
    replica's slice, so N replicas train as one device would."""
    return layers.BatchNormalization(
        synchronized=tf.distribute.get_strategy().num_replicas_in_sync > 1)


class Upsampler(keras.Model):
    """Projects a vector to an (H/4, W/4, widths[0]) map, then transposed convolutions grow it
    to (H, W, C) in [-1, 1]. widths[1:-1] run at H/4 (stride 1), the last two upsample by 2."""

    def __init__(self, image_shape, widths=(128, 64), kernel_size=4, **kwargs):
        super().__init__(**kwargs)
        height, width, channels = image_shape
        init = dcgan_init()
        self.project = keras.Sequential([
            layers.Dense(height // 4 * width // 4 * widths[0], use_bias=False, kernel_initializer=init),
            batch_norm(),
            layers.LeakyReLU(0.2),
            layers.Reshape((height // 4, width // 4, widths[0])),
        ])
        blocks = []
        for i, filters in enumerate(widths[1:]):
            stride = 1 if i < len(widths) - 2 else 2
            blocks += [layers.Conv2DTranspose(filters, kernel_size, strides=stride, padding='same',
                                              use_bias=False, kernel_initializer=init),
                       batch_norm(),
                       layers.LeakyReLU(0.2)]
        blocks.append(layers.Conv2DTranspose(channels, kernel_size, strides=2, padding='same',
                                             activation='tanh', kernel_initializer=init))
        self.upsample = keras.Sequential(blocks)

    def call(self, vector, training=False):
        return self.upsample(self.project(vector, training=training), training=training)


class Downsampler(keras.Model):
    """Strided convolutions (one per width, each halving H and W) to a flat feature vector."""

    def __init__(self, widths=(64, 128), kernel_size=4, dropout=0.3, **kwargs):
        super().__init__(**kwargs)
        init = dcgan_init()
        blocks = []
        for filters in widths:
            blocks += [layers.Conv2D(filters, kernel_size, strides=2, padding='same',
                                     kernel_initializer=init),
                       layers.LeakyReLU(0.2)]
            if dropout:
                blocks.append(layers.Dropout(dropout))
        blocks.append(layers.Flatten())
        self.body = keras.Sequential(blocks)

    def call(self, images, training=False):
        return self.body(images, training=training)
