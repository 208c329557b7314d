"""ACGAN (Odena et al. 2017): the discriminator sees only the image and has two heads, real/fake
and class. The class loss trains both networks: the discriminator learns to classify, the
generator learns to draw images classified as the label it was given."""

import keras

from tfgan2 import losses
from tfgan2.models import cgan, networks


@keras.saving.register_keras_serializable(package='tfgan2')
class ACGAN(cgan.ConditionalGAN):
    """CGAN's generator, and a discriminator whose class head classifies the image alone.

    The class head is by default ADC-GAN's discriminative classifier (Hou et al. 2022), which
    tells each class of real images from the same class of generated ones: on Fashion-MNIST it
    brought FD from 12-14x to 5.4-5.6x the real-vs-real floor at equal CPU time, where Odena's
    auxiliary classifier, with or without TAC-GAN's twin, pulled the generator towards few,
    clear-cut images per class (benchmarks/RESULTS.md). `cgan.classifier_losses` has all three.
    No Dropout by default, since learning real classes already regularizes the discriminator.

    Hyperparameters:
      classifier: the class head: 'discriminative' (ADC-GAN), 'twin' (TAC-GAN) or 'auxiliary'
        (the paper's).
      class_weight: weight of the class terms against the real/fake terms (default: 1 for the
        discriminative classifier, as in the papers; 0.1 for the others, whose pull 1 makes too strong).
      fake_class_weight: weight of the auxiliary or twin classifier's loss on generated images'
        labels (1 in the paper; 0: it learns classes from real images only, so generator and
        classifier cannot agree on a labelling that real images do not share).
    """

    kind = 'acgan'

    def __init__(self, image_shape, num_classes, noise_dim=100, generator_widths: networks.Widths = None,
                 discriminator_widths: networks.Widths = None, kernel_size=4, dropout=0.0,
                 mixing: networks.Mixing = 'multiply', fake_labels: cgan.FakeLabels = 'uniform',
                 classifier: cgan.Classifier = 'discriminative', class_weight: float | None = None,
                 fake_class_weight=0.0):
        cgan.require_classes(self.kind, num_classes)
        cgan.check_classifier(self.kind, classifier, fake_class_weight)
        super().__init__(image_shape, num_classes, noise_dim, generator_widths, discriminator_widths,
                         kernel_size, dropout, mixing, fake_labels, fake_class_head=classifier != 'auxiliary')
        self.classifier = classifier
        self.class_weight = cgan.default_class_weight(classifier) if class_weight is None else class_weight
        self.fake_class_weight = fake_class_weight

    def compute_losses(self, images, labels, sampler, training=True):
        latent = self.fake_latent(sampler, labels)
        fake = self.fake_images(latent, training)
        real = self.discriminator(images, training=training)
        generated = self.discriminator(fake, training=training)
        g_class, d_class, diagnostics = cgan.classifier_losses(
            self.classifier, real, generated, labels, latent['label'], self.fake_class_weight)
        return {'g_loss': losses.generator_loss(generated['logit']) + self.class_weight * g_class,
                'd_loss': losses.discriminator_loss(real['logit'], generated['logit']) + self.class_weight * d_class,
                **diagnostics}
