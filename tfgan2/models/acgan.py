"""ACGAN (Odena et al. 2017): the discriminator sees only the image and has two heads, real/fake
and class. The class loss trains both networks: the discriminator learns to classify, the
generator learns to draw images classified as the label it was given."""

import keras

from tfgan2 import losses
from tfgan2.models import cgan, networks


@keras.saving.register_keras_serializable(package='tfgan2')
class ACGAN(cgan.ConditionalGAN):
    """CGAN's generator, and a discriminator whose class head is an auxiliary classifier.

    The defaults differ from the paper where measurements on Fashion-MNIST favoured it
    (benchmarks/RESULTS.md): the class terms weigh 0.1, not 1, since 1 pulls the generator
    towards clear-cut images at the cost of looking real; the classifier learns from real images
    only, so generator and classifier cannot agree on a labelling of fakes that real images do
    not share; and no Dropout, since learning real classes already regularizes the discriminator.

    With `twin_classifier` (TAC-GAN, Gong et al. 2019; on by default), a second class head
    learns the labels of generated images and the generator works against it: this cancels the
    auxiliary classifier's pull towards fewer, more clear-cut images per class, which otherwise
    squeezes some classes to half of real variety.

    Hyperparameters:
      class_weight: weight of the class terms against the real/fake terms (1 in the paper).
      fake_class_weight: weight of the discriminator's class loss on generated images (1 in
        the paper; 0: it learns classes from real images only).
      twin_classifier: add TAC-GAN's twin classifier of generated images.
    """

    kind = 'acgan'

    def __init__(self, image_shape, num_classes, noise_dim=100, generator_widths: networks.Widths = None,
                 discriminator_widths: networks.Widths = None, kernel_size=4, dropout=0.0,
                 mixing: networks.Mixing = 'multiply', fake_labels: cgan.FakeLabels = 'uniform',
                 class_weight=0.1, fake_class_weight=0.0, twin_classifier=True):
        cgan.require_classes(self.kind, num_classes)
        super().__init__(image_shape, num_classes, noise_dim, generator_widths, discriminator_widths,
                         kernel_size, dropout, mixing, fake_labels, twin_classifier=twin_classifier)
        self.class_weight = class_weight
        self.fake_class_weight = fake_class_weight
        self.twin_classifier = twin_classifier

    def compute_losses(self, images, labels, sampler, training=True):
        latent = self.fake_latent(sampler, labels)
        fake = self.fake_images(latent, training)
        real = self.discriminator(images, training=training)
        generated = self.discriminator(fake, training=training)
        real_class_loss = losses.class_loss(labels, real['class_logits'])
        fake_class_loss = losses.class_loss(latent['label'], generated['class_logits'])
        g_class_loss = fake_class_loss
        d_class_loss = real_class_loss + self.fake_class_weight * fake_class_loss
        extra = {}
        if self.twin_classifier:
            extra['twin_class_loss'] = losses.class_loss(latent['label'], generated['twin_class_logits'])
            g_class_loss -= extra['twin_class_loss']
            d_class_loss += extra['twin_class_loss']
        return {
            'g_loss': losses.generator_loss(generated['logit']) + self.class_weight * g_class_loss,
            'd_loss': losses.discriminator_loss(real['logit'], generated['logit']) + self.class_weight * d_class_loss,
            'real_class_loss': real_class_loss,
            'fake_class_loss': fake_class_loss,
            **extra}
