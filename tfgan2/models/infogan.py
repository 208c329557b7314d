"""InfoGAN (Chen et al. 2016): a categorical code and continuous codes that the generator must
keep recoverable from its images, through a Q head on the discriminator that predicts them.

Unsupervised, the categorical code finds its own meaning, in an arbitrary order (on Fashion-MNIST
after 3 epochs with the DCGAN paper's Adam it matched the garment classes for 0.30 of the images
with multiply mixing, 0.67 with concat, which collapsed each category). Supervised (the default
when the data has labels), the Q head's categorical part also learns the real labels from real
images, so code k draws class k. The continuous codes stay unsupervised either way (see the
`code_<i>` traversal grids).
"""

import tensorflow as tf
from keras import layers

from tfgan2 import losses
from tfgan2.models import cgan, networks


class Generator(cgan.Generator):
    """{'noise' [B, noise_dim], 'label' int32 [B] (the categorical code), 'code' [B, code_dim]}
    -> images: the continuous codes join the noise, the categorical code is mixed in as CGAN's label."""

    def call(self, latent, training=False):
        vector = tf.concat([latent['noise'], latent['code']], axis=-1)
        return super().call({'noise': vector, 'label': latent['label']}, training=training)


class Discriminator(cgan.Discriminator):
    """images -> (real/fake logit, categorical-code logits, continuous-code means [B, code_dim]).

    The last two are the Q network, sharing the discriminator's features as in the paper."""

    def __init__(self, categories, code_dim, widths=(64, 128), kernel_size=4, dropout=0.3, **kwargs):
        super().__init__(categories, widths, kernel_size, dropout, **kwargs)
        self.code_mean = layers.Dense(code_dim, kernel_initializer=networks.dcgan_init())

    def call(self, images, training=False):
        features = self.features(images, training=training)
        return self.logit(features), self.class_logits(features), self.code_mean(features)


class InfoGAN(cgan.ConditionalGAN):
    """`supervised`: the categorical code is the dataset's label (it needs one); otherwise it has
    `categories` values (default 10) learnt without labels. Continuous codes are uniform in [-1, 1].
    `categorical_weight` and `continuous_weight` scale the mutual-information terms. Supervised,
    the categorical weight defaults to 0.1, as ACGAN's class weight does (Fashion-MNIST after 8
    CPU-minutes, generator averaged: FD 3.8 against 5.1 with 1 for seed 0, 3.9 against 5.5 for
    seed 1; 0.05 lost label accuracy); unsupervised, to the paper's 1.

    `fake_class_weight` scales Q's categorical loss on generated images in the discriminator's
    loss. Unsupervised, Q can only learn the code from generated images (weight 1). Supervised,
    it defaults to 0 as in ACGAN: Q learns the classes from real images alone, so generator and
    Q cannot settle on a labelling of fakes that real images do not share.

    `dropout` in the discriminator: supervised, 0 by default, as in ACGAN, since learning the
    classes of real images already regularizes it (Fashion-MNIST, FD at 7, 7.5 and 8 CPU-minutes
    averaged: 3.72, 3.86 and 3.78 for seeds 0-2, against 3.81, 5.30 and 4.88 with the tutorial's
    0.3, whose masks also cost 14% more CPU per step); unsupervised, the tutorial's 0.3."""

    name = 'infogan'

    def __init__(self, image_shape, num_classes=0, noise_dim=100, generator_widths=(128, 64),
                 discriminator_widths=(64, 128), kernel_size=4, dropout=None, mixing='multiply',
                 fake_labels='uniform', supervised=True, categories=None, code_dim=2,
                 categorical_weight=None, continuous_weight=1.0, fake_class_weight=None):
        if supervised:
            cgan.require_classes(f'{self.name} (supervised)', num_classes)
            if categories not in (None, num_classes):
                raise ValueError(f'Supervised {self.name} uses the {num_classes} dataset labels as its '
                                 f'categorical code, not {categories} categories; drop categories or '
                                 f'train unsupervised.')
            categories = num_classes
            categorical_weight = 0.1 if categorical_weight is None else categorical_weight
            fake_class_weight = 0.0 if fake_class_weight is None else fake_class_weight
            dropout = 0.0 if dropout is None else dropout
        else:
            categories = categories or 10
            if fake_labels == 'real':
                raise ValueError(f'Unsupervised {self.name} cannot draw its categorical code from real '
                                 f'labels (fake_labels=real); use fake_labels=uniform or supervised.')
            if fake_class_weight not in (None, 1.0):
                raise ValueError(f'Unsupervised {self.name} learns its categorical code from generated '
                                 f'images only, so fake_class_weight must stay 1 (got {fake_class_weight}).')
            fake_class_weight = 1.0
            categorical_weight = 1.0 if categorical_weight is None else categorical_weight
            dropout = 0.3 if dropout is None else dropout
        cgan.require_classes(self.name, categories)
        if code_dim < 1:
            raise ValueError(f'{self.name} needs at least one continuous code (code_dim={code_dim}).')
        # The generator's `label` is the categorical code, so `num_classes` counts its values.
        super().__init__(Generator(image_shape, categories, noise_dim + code_dim, mixing,
                                   generator_widths, kernel_size),
                         Discriminator(categories, code_dim, discriminator_widths, kernel_size, dropout),
                         image_shape, noise_dim, categories, fake_labels)
        self.supervised = supervised
        self.dropout = dropout
        self.code_dim = code_dim
        self.categorical_weight = categorical_weight
        self.continuous_weight = continuous_weight
        self.fake_class_weight = fake_class_weight

    def latent_spec(self):
        return {**super().latent_spec(),
                'code': tf.TensorSpec([None, self.code_dim], tf.float32, name='code')}

    def sample_latent(self, rng, batch_size, labels=None):
        return {**super().sample_latent(rng, batch_size, labels),
                'code': rng.uniform([batch_size, self.code_dim], -1.0, 1.0)}

    def preview_latent(self, noise):
        """Row k draws categorical value k from every fixed noise vector, continuous codes at 0."""
        latent, rows = super().preview_latent(noise)
        return {**latent, 'code': tf.zeros([tf.shape(latent['noise'])[0], self.code_dim])}, rows

    def extra_previews(self, noise):
        """'code_<i>': continuous code i swept from -2 to 2 across the columns, the others at 0,
        one row per categorical value, all from the first fixed noise vector."""
        columns = tf.shape(noise)[0]
        latent, rows = self.preview_latent(tf.repeat(noise[:1], columns, axis=0))
        sweep = tf.tile(tf.linspace(-2.0, 2.0, columns), [rows])[:, tf.newaxis]
        return {f'code_{i + 1}': ({**latent, 'code': sweep * tf.one_hot(i, self.code_dim)}, rows)
                for i in range(self.code_dim)}

    def compute_losses(self, images, labels, rng, training=True):
        latent = self.fake_latent(rng, labels)
        fake = self.generate(latent, training=training)
        real_logit, real_class_logits, _ = self.discriminator(images, training=training)
        fake_logit, fake_class_logits, fake_code_mean = self.discriminator(fake, training=training)
        # Mutual-information terms (variational lower bound, up to constants): Q recovering the codes.
        fake_class_loss = losses.class_loss(latent['label'], fake_class_logits)
        code_loss = losses.gaussian_code_loss(latent['code'], fake_code_mean)
        code_term = self.continuous_weight * code_loss
        metrics = {'g_loss': (losses.generator_loss(fake_logit) + code_term
                              + self.categorical_weight * fake_class_loss),
                   'd_loss': (losses.discriminator_loss(real_logit, fake_logit) + code_term
                              + self.categorical_weight * self.fake_class_weight * fake_class_loss),
                   'fake_class_loss': fake_class_loss,
                   'code_loss': code_loss}
        if self.supervised:
            metrics['real_class_loss'] = losses.class_loss(labels, real_class_logits)
            metrics['d_loss'] += self.categorical_weight * metrics['real_class_loss']
        return metrics
