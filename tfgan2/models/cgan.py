"""CGAN (Mirza & Osindero 2014): the generator draws the class it is given, the discriminator
judges (image, label) pairs. Also the conditional pieces ACGAN and InfoGAN build on.

How the label gets in: the generator mixes a learned label embedding into its noise; the
discriminator scores a pair as an unconditional real/fake logit plus the image features' logit
for that label (a projection discriminator, Miyato & Koyama 2018), so a real image with the
wrong label scores as fake and the generator must draw the asked-for class.
"""

import tensorflow as tf

from tfgan2 import errors, losses
from tfgan2.models import base, networks, registry
from tfgan2.models import hyperparameters as hp

FAKE_LABELS = ('uniform', 'real')
CLASSIFIERS = ('discriminative', 'twin', 'auxiliary')


def require_classes(kind, num_classes):
    """Fails clearly when a model that draws requested classes gets unlabeled data."""
    if num_classes < 2:
        raise errors.ConfigError(f'{kind} draws images of a requested class, so it needs labelled data with '
                                 f'at least 2 classes (this data has {num_classes}); train selfcond or dcgan, '
                                 f'or infogan with supervised=False, on unlabeled data.')


def label_logit(class_logits, labels):
    """The logit of each row's own label: [B, C], [B] -> [B, 1]."""
    return tf.gather(class_logits, labels, axis=1, batch_dims=1)[:, tf.newaxis]


def projection_logit(outputs, labels):
    """A projection discriminator's logit of (image, label) pairs (Miyato & Koyama 2018): the
    unconditional logit plus the image features' logit for the label."""
    return outputs['logit'] + label_logit(outputs['class_logits'], labels)


def projection_diagnostics(real_outputs, fake_outputs, labels, fake_labels):
    """How well a projection discriminator's label scores pick each image's label."""
    return {'real_class_loss': losses.class_loss(labels, real_outputs['class_logits']),
            'fake_class_loss': losses.class_loss(fake_labels, fake_outputs['class_logits'])}


def default_class_weight(classifier):
    """The measured weight of the class terms: the papers' 1 for the discriminative classifier;
    0.1 for the others, whose pull towards clear-cut images 1 makes too strong."""
    return 1.0 if classifier == 'discriminative' else 0.1


def check_classifier(kind, classifier, fake_class_weight):
    """Fails clearly on a classifier that cannot learn from generated images' labels."""
    if classifier == 'discriminative' and fake_class_weight:
        raise errors.ConfigError(f'{kind}\'s discriminative classifier already learns generated images as classes '
                                 f'of their own, so fake_class_weight={fake_class_weight} does not apply; drop it '
                                 f'or use classifier=auxiliary or twin.')


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


MIXING = hp.Hyperparameter('mixing', str, 'multiply', 'how the generator mixes the embedding of its label (or '
                           'cluster) into the noise: element-wise (as in the Keras ACGAN example) or appended',
                           choices=networks.MIXINGS)
CONDITIONAL_HYPERPARAMETERS = hp.extend(
    base.HYPERPARAMETERS, MIXING,
    hp.Hyperparameter('fake_labels', str, 'uniform', 'labels of generated training images: uniform over the '
                      'classes, or copied from the real batch', choices=FAKE_LABELS))


class ConditionalGAN(base.GAN):
    """A GAN whose generator takes a class label: label sampling, one preview row per class.
    `network_options` says how many label values the networks take and which heads they have."""

    HYPERPARAMETERS = CONDITIONAL_HYPERPARAMETERS

    def network_options(self):
        """{num_labels, code_dim, fake_class_head}: the generator's label values (default: the
        data's classes), its continuous codes, and whether the discriminator scores generated
        images' classes too."""
        return {'num_labels': self.num_classes, 'code_dim': 0, 'fake_class_head': False}

    def build_networks(self):
        options = self.network_options()
        generator = self.build_generator(num_classes=options['num_labels'], code_dim=options['code_dim'],
                                         mixing=self.hyperparameters.mixing)
        discriminator = self.build_discriminator(num_classes=options['num_labels'], code_dim=options['code_dim'],
                                                 fake_class_head=options['fake_class_head'])
        return generator, discriminator

    def latent_spec(self):
        return {**super().latent_spec(), 'label': tf.TensorSpec([None], tf.int32, name='label')}

    def sample_latent(self, sampler, batch_size, labels=None):
        """Labels are `labels` if given, else uniform over the generator's label values."""
        if labels is None:
            labels = sampler.uniform([batch_size], 0, self.num_labels, dtype=tf.int32)
        return {'noise': sampler.normal([batch_size, self.noise_dim]), 'label': labels}

    def fake_latent(self, sampler, labels):
        """Labels drawn uniformly, or the real batch's; the labels are the conditions."""
        copied = labels if self.hyperparameters.fake_labels == 'real' else None
        latent = self.sample_latent(sampler, tf.shape(labels)[0], copied)
        return latent, latent['label']

    def real_conditions(self, images, labels):
        return labels

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


@registry.register
class CGAN(ConditionalGAN):
    """Conditional GAN with a projection discriminator. Fake labels are copied from the real
    batch by default, which reached the label accuracy of uniform labels about an epoch sooner
    on Fashion-MNIST."""

    kind = 'cgan'
    HYPERPARAMETERS = hp.extend(CONDITIONAL_HYPERPARAMETERS, fake_labels='real')

    def resolve_defaults(self, values):
        require_classes(self.kind, self.num_classes)
        return super().resolve_defaults(values)

    def adversarial_logit(self, outputs, conditions):
        return projection_logit(outputs, conditions)

    def auxiliary_losses(self, real_outputs, fake_outputs, real_conditions, fake_conditions, latent):
        return 0.0, 0.0, projection_diagnostics(real_outputs, fake_outputs, real_conditions, fake_conditions)
