"""DCGAN (Radford et al. 2016), as in the TensorFlow DCGAN tutorial: noise in, image out,
and a discriminator that only judges real versus fake."""

import keras
import tensorflow as tf
from keras import layers

from tfgan2 import losses
from tfgan2.models import base, networks


class Generator(keras.Model):
    """noise [B, noise_dim] -> images [B, H, W, C] in [-1, 1]."""

    def __init__(self, image_shape, widths=(128, 64), kernel_size=4, **kwargs):
        super().__init__(**kwargs)
        self.upsampler = networks.Upsampler(image_shape, widths, kernel_size)

    def call(self, latent, training=False):
        return self.upsampler(latent['noise'], training=training)


class Discriminator(keras.Model):
    """images -> one real/fake logit per image."""

    def __init__(self, widths=(64, 128), kernel_size=4, dropout=0.3, **kwargs):
        super().__init__(**kwargs)
        self.features = networks.Downsampler(widths, kernel_size, dropout)
        self.logit = layers.Dense(1, kernel_initializer=networks.dcgan_init())

    def call(self, images, training=False):
        return self.logit(self.features(images, training=training))


class DCGAN(base.GAN):
    name = 'dcgan'

    def __init__(self, image_shape, num_classes=0, noise_dim=100, generator_widths=(128, 64),
                 discriminator_widths=(64, 128), kernel_size=4, dropout=0.3, real_label=1.0):
        super().__init__(Generator(image_shape, generator_widths, kernel_size),
                         Discriminator(discriminator_widths, kernel_size, dropout),
                         image_shape, noise_dim, num_classes)
        self.real_label = real_label

    def compute_losses(self, images, labels, rng, training=True):
        del labels  # DCGAN ignores classes.
        fake = self.generate(self.sample_latent(rng, tf.shape(images)[0]), training=training)
        real_logits = self.discriminator(images, training=training)
        fake_logits = self.discriminator(fake, training=training)
        return {'g_loss': losses.generator_loss(fake_logits),
                'd_loss': losses.discriminator_loss(real_logits, fake_logits, self.real_label)}

