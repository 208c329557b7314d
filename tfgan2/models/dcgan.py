"""DCGAN (Radford et al. 2016), as in the TensorFlow DCGAN tutorial: noise in, image out, and a
discriminator that only judges real versus fake."""

import keras
import tensorflow as tf

from tfgan2 import losses
from tfgan2.models import base, networks


@keras.saving.register_keras_serializable(package='tfgan2')
class DCGAN(base.GAN):
    """The unconditional GAN: it needs no labels and ignores them when the data has some.

    Hyperparameters:
      real_label: target of real images in the discriminator's loss; below 1 is one-sided label
        smoothing.
    """

    kind = 'dcgan'

    def __init__(self, image_shape, noise_dim=100, generator_widths: networks.Widths = None,
                 discriminator_widths: networks.Widths = None, kernel_size=4, dropout=0.3, real_label=1.0):
        generator = networks.Generator(image_shape, noise_dim, widths=generator_widths,
                                       kernel_size=kernel_size, name='generator')
        discriminator = networks.Discriminator(image_shape, discriminator_widths, kernel_size, dropout,
                                               name='discriminator')
        super().__init__(generator, discriminator)
        self.real_label = real_label

    def compute_losses(self, images, labels, sampler, training=True):
        del labels  # DCGAN ignores classes.
        fake = self.fake_images(self.sample_latent(sampler, tf.shape(images)[0]), training)
        real_logit = self.discriminator(images, training=training)['logit']
        fake_logit = self.discriminator(fake, training=training)['logit']
        return {'g_loss': losses.generator_loss(fake_logit),
                'd_loss': losses.discriminator_loss(real_logit, fake_logit, self.real_label)}
