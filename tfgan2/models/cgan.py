"""CGAN (Mirza & Osindero 2014): the generator draws the class it is given, the discriminator
judges (image, label) pairs. Also the conditional pieces ACGAN and InfoGAN build on.

How the label gets in: the generator mixes a learned label embedding into its noise; the
discriminator scores a pair as an unconditional real/fake logit plus the image features' logit
for that label (a projection discriminator, Miyato & Koyama 2018), so a real image with the
wrong label scores as fake and the generator must draw the asked-for class.
"""

import typing

import keras
import tensorflow as tf

from tfgan2 import errors, losses
from tfgan2.models import base, networks

FakeLabels = typing.Literal['uniform', 'real']
FAKE_LABELS = typing.get_args(FakeLabels)
Classifier = typing.Literal['discriminative', 'twin', 'auxiliary']
CLASSIFIERS = typing.get_args(Classifier)


def require_classes(kind, num_classes):
    """Fails clearly when a model that draws requested classes gets unlabeled data."""
    if num_classes < 2:
        raise errors.ConfigError(f'{kind} draws images of a requested class, so it needs labelled data with '
                                 f'at least 2 classes (this data has {num_classes}); train dcgan, or infogan '
                                 f'with supervised=False, on unlabeled data.')


def label_logit(class_logits, labels):
    """The logit of each row's own label: [B, C], [B] -> [B, 1]."""
    return tf.gather(class_logits, labels, axis=1, batch_dims=1)[:, tf.newaxis]


def projection_losses(discriminator, images, labels, fake, fake_labels, training):
    """CGAN's losses of a projection `discriminator` on real `images` of `labels` and `fake`
    images of `fake_labels`, with the class losses of its label scores as diagnostics."""
    real = discriminator(images, training=training)
    generated = discriminator(fake, training=training)
    real_pair_logit = real['logit'] + label_logit(real['class_logits'], labels)
    fake_pair_logit = generated['logit'] + label_logit(generated['class_logits'], fake_labels)
    return {'g_loss': losses.generator_loss(fake_pair_logit),
            'd_loss': losses.discriminator_loss(real_pair_logit, fake_pair_logit),
            # Diagnostics: how well the discriminator's label scores pick each image's label.
            'real_class_loss': losses.class_loss(labels, real['class_logits']),
            'fake_class_loss': losses.class_loss(fake_labels, generated['class_logits'])}


def default_class_weight(classifier):
    """The measured weight of the class terms: the papers' 1 for the discriminative classifier;
    0.1 for the others, whose pull towards clear-cut images 1 makes too strong."""
    return 1.0 if classifier == 'discriminative' else 0.1


def check_classifier(kind, classifier, fake_class_weight):
    """Fails clearly on an unknown classifier or one that cannot learn from generated images."""
    if classifier not in CLASSIFIERS:
        raise errors.ConfigError(f'classifier={classifier!r} is unknown; use one of {", ".join(CLASSIFIERS)}.')
    if classifier == 'discriminative' and fake_class_weight:
        raise errors.ConfigError(f'{kind}\'s discriminative classifier already learns generated images as classes of '
                                 f'their own, so fake_class_weight={fake_class_weight} does not apply; drop it or '
                                 f'use classifier=auxiliary or twin.')


def classifier_losses(classifier, real, generated, labels, fake_labels, fake_class_weight):
    """The class terms of a GAN whose discriminator classifies the image alone (ACGAN, supervised
    InfoGAN), from its outputs on `real` images of `labels` and `generated` ones of
    `fake_labels`: (generator's term, discriminator's term, diagnostics).

    'auxiliary' (Odena et al. 2017): one classifier learns real labels (and generated images'
    labels with `fake_class_weight`); the generator draws what it classifies as the asked label.
    'twin' (TAC-GAN, Gong et al. 2019): a second head learns generated images' labels and the
    generator works against it, cancelling the pull towards few clear-cut images per class.
    'discriminative' (ADC-GAN, Hou et al. 2022): one softmax over 2K classes, (label, real) and
    (label, generated); the generator moves its images from (y, generated) towards (y, real).
    The log-ratio of the two is the ratio of real to generated density of (image, label), the
    class-conditional real/fake signal a projection discriminator gives CGAN.
    """
    real_class_loss = losses.class_loss(labels, real['class_logits'])
    fake_class_loss = losses.class_loss(fake_labels, generated['class_logits'])
    # Diagnostics: how well the real-class scores pick each image's label.
    diagnostics = {'real_class_loss': real_class_loss, 'fake_class_loss': fake_class_loss}
    if classifier == 'discriminative':
        num_classes = tf.shape(real['class_logits'])[1]
        both = lambda outputs: tf.concat([outputs['class_logits'], outputs['fake_class_logits']], axis=1)
        d_term = (losses.class_loss(labels, both(real))
                  + losses.class_loss(fake_labels + num_classes, both(generated)))
        g_term = tf.reduce_mean(tf.cast(label_logit(generated['fake_class_logits'], fake_labels)
                                        - label_logit(generated['class_logits'], fake_labels), tf.float32))
        return g_term, d_term, {**diagnostics, 'discriminative_class_loss': d_term}
    g_term = fake_class_loss
    d_term = real_class_loss + fake_class_weight * fake_class_loss
    if classifier == 'twin':
        twin_class_loss = losses.class_loss(fake_labels, generated['fake_class_logits'])
        g_term -= twin_class_loss
        d_term += twin_class_loss
        diagnostics['twin_class_loss'] = twin_class_loss
    return g_term, d_term, diagnostics


class ConditionalGAN(base.GAN):
    """A GAN whose generator takes a class label: label sampling, one preview row per class.

    Hyperparameters:
      num_classes: classes in the training data (the labels' range).
      mixing: how the generator mixes the label embedding into the noise: 'multiply'
        (element-wise, as in the Keras ACGAN example) or 'concat'.
      fake_labels: labels of generated training images: 'uniform' over the classes, or
        'real', copied from the real batch.
    """

    def __init__(self, image_shape, num_classes, noise_dim, generator_widths, discriminator_widths,
                 kernel_size, dropout, mixing, fake_labels, num_labels=None, code_dim=0,
                 fake_class_head=False):
        """Builds both networks for `num_labels` label values (default: `num_classes`),
        `code_dim` continuous codes and, with `fake_class_head`, class scores of generated images."""
        if fake_labels not in FAKE_LABELS:
            raise errors.ConfigError(f'fake_labels={fake_labels!r} is unknown; use one of {", ".join(FAKE_LABELS)}.')
        num_labels = num_labels or num_classes
        super().__init__(
            networks.Generator(image_shape, noise_dim, num_labels, code_dim, mixing, generator_widths,
                               kernel_size, name='generator'),
            networks.Discriminator(image_shape, discriminator_widths, kernel_size, dropout, num_labels,
                                   code_dim, fake_class_head, name='discriminator'),
            num_classes)
        self.mixing = mixing
        self.fake_labels = fake_labels

    def latent_spec(self):
        return {**super().latent_spec(), 'label': tf.TensorSpec([None], tf.int32, name='label')}

    def sample_latent(self, sampler, batch_size, labels=None):
        """Labels are `labels` if given, else uniform over the generator's label values."""
        if labels is None:
            labels = sampler.uniform([batch_size], 0, self.num_labels, dtype=tf.int32)
        return {'noise': sampler.normal([batch_size, self.noise_dim]), 'label': labels}

    def fake_latent(self, sampler, real_labels):
        """Generator inputs for one training batch: labels drawn uniformly, or the real batch's."""
        labels = real_labels if self.fake_labels == 'real' else None
        return self.sample_latent(sampler, tf.shape(real_labels)[0], labels)

    @property
    def preview_noise_count(self):
        return 10

    def preview_latents(self, noise):
        """Row c draws label c from every fixed noise vector."""
        return {'epoch': self._rows_per_label(noise)}

    def _rows_per_label(self, noise):
        columns = tf.shape(noise)[0]
        return ({'noise': tf.tile(noise, [self.num_labels, 1]),
                 'label': tf.repeat(tf.range(self.num_labels, dtype=tf.int32), columns)}, self.num_labels)


@keras.saving.register_keras_serializable(package='tfgan2')
class CGAN(ConditionalGAN):
    """Conditional GAN with a projection discriminator; `fake_labels: FakeLabels = 'real'` by default, which
    reached the label accuracy of uniform labels about an epoch sooner on Fashion-MNIST."""

    kind = 'cgan'

    def __init__(self, image_shape, num_classes, noise_dim=100, generator_widths: networks.Widths = None,
                 discriminator_widths: networks.Widths = None, kernel_size=4, dropout=0.3,
                 mixing: networks.Mixing = 'multiply', fake_labels: FakeLabels = 'real'):
        require_classes(self.kind, num_classes)
        super().__init__(image_shape, num_classes, noise_dim, generator_widths, discriminator_widths,
                         kernel_size, dropout, mixing, fake_labels)

    def compute_losses(self, images, labels, sampler, training=True):
        latent = self.fake_latent(sampler, labels)
        return projection_losses(self.discriminator, images, labels, self.fake_images(latent, training),
                                 latent['label'], training)
