"""InfoGAN (Chen et al. 2016): a categorical code and continuous codes that the generator must
keep recoverable from its images, through a Q head on the discriminator that predicts them.

Unsupervised, the categorical code finds its own meaning, in an arbitrary order. Supervised (the
default when the data has labels), the categorical code is the label and Q's categorical part is
an ACGAN class head (by default ADC-GAN's discriminative classifier) that learns real labels, so
code k draws class k. The continuous codes stay unsupervised either way (see the `code_<i>`
traversal grids).
"""

import keras
import tensorflow as tf

from tfgan2 import errors, losses
from tfgan2.models import cgan, networks


@keras.saving.register_keras_serializable(package='tfgan2')
class InfoGAN(cgan.ConditionalGAN):
    """InfoGAN; the generator's `label` input is the categorical code and `code` the continuous
    codes, uniform in [-1, 1].

    Defaults left as None resolve by `supervised` (the resolved values are what get_config and
    gan.json record). Supervised they follow ACGAN's measured defaults: the discriminative
    classifier, its weight (`cgan.default_class_weight`), no Dropout; unsupervised, the paper's Q
    learning the categorical code from generated images (it has nothing else) with weight 1,
    and the tutorial's Dropout of 0.3.

    Hyperparameters:
      supervised: use the data's labels as the categorical code (default: when the data has labels).
      categories: values of the categorical code when unsupervised (default 10).
      code_dim: number of continuous codes.
      classifier: supervised, the class head, as ACGAN's: 'discriminative', 'twin' or
        'auxiliary' (unsupervised: 'auxiliary', Q).
      categorical_weight: weight of the categorical-code term.
      continuous_weight: weight of the continuous-code information term.
      fake_class_weight: weight of Q's categorical loss on generated images in the discriminator's
        loss (auxiliary and twin classifiers).
    """

    kind = 'infogan'

    def __init__(self, image_shape, num_classes=0, noise_dim=100, generator_widths: networks.Widths = None,
                 discriminator_widths: networks.Widths = None, kernel_size=4, dropout: float | None = None,
                 mixing: networks.Mixing = 'multiply', fake_labels: cgan.FakeLabels = 'uniform',
                 supervised: bool | None = None, categories: int | None = None, code_dim=2,
                 categorical_weight: float | None = None, continuous_weight=1.0,
                 fake_class_weight: float | None = None, classifier: cgan.Classifier | None = None):
        supervised = num_classes > 0 if supervised is None else supervised
        if supervised:
            cgan.require_classes(f'{self.kind} (supervised)', num_classes)
            if categories not in (None, num_classes):
                raise errors.ConfigError(f'Supervised {self.kind} uses the {num_classes} labels of the data as '
                                         f'its categorical code, not categories={categories}; drop categories '
                                         f'or set supervised=False.')
            classifier = classifier or 'discriminative'
            defaults = dict(categories=num_classes, categorical_weight=cgan.default_class_weight(classifier),
                            fake_class_weight=0.0, dropout=0.0)
        else:
            if fake_labels == 'real':
                raise errors.ConfigError(f'Unsupervised {self.kind} cannot draw its categorical code from real '
                                         f'labels (fake_labels=real); use fake_labels=uniform or supervised=True.')
            if fake_class_weight not in (None, 1.0):
                raise errors.ConfigError(f'Unsupervised {self.kind} learns its categorical code from generated '
                                         f'images only, so fake_class_weight must stay 1 (got {fake_class_weight}).')
            if classifier not in (None, 'auxiliary'):
                raise errors.ConfigError(f'Unsupervised {self.kind} has no labels to train a {classifier} classifier '
                                         f'on; its Q head is auxiliary: drop classifier or set supervised=True.')
            classifier = 'auxiliary'
            defaults = dict(categories=10, categorical_weight=1.0, fake_class_weight=1.0, dropout=0.3)
        given = dict(categories=categories, categorical_weight=categorical_weight,
                     fake_class_weight=fake_class_weight, dropout=dropout)
        resolved = {key: defaults[key] if value is None else value for key, value in given.items()}
        cgan.check_classifier(self.kind, classifier, resolved['fake_class_weight'])
        if resolved['categories'] < 2:
            raise errors.ConfigError(f'categories={resolved["categories"]}: the categorical code needs at '
                                     f'least 2 values.')
        if code_dim < 1:
            raise errors.ConfigError(f'code_dim={code_dim}: {self.kind} needs at least one continuous code.')
        super().__init__(image_shape, num_classes, noise_dim, generator_widths, discriminator_widths,
                         kernel_size, resolved['dropout'], mixing, fake_labels,
                         num_labels=resolved['categories'], code_dim=code_dim,
                         fake_class_head=classifier != 'auxiliary')
        self.supervised = supervised
        self.categories = resolved['categories']
        self.code_dim = code_dim
        self.categorical_weight = resolved['categorical_weight']
        self.continuous_weight = continuous_weight
        self.fake_class_weight = resolved['fake_class_weight']
        self.classifier = classifier

    @property
    def draws_dataset_classes(self):
        return self.supervised

    def latent_spec(self):
        return {**super().latent_spec(), 'code': tf.TensorSpec([None, self.code_dim], tf.float32, name='code')}

    def sample_latent(self, sampler, batch_size, labels=None):
        return {**super().sample_latent(sampler, batch_size, labels),
                'code': sampler.uniform([batch_size, self.code_dim], -1.0, 1.0)}

    def preview_latents(self, noise):
        """'epoch': row k draws categorical value k from every fixed noise vector, continuous
        codes at 0. 'code_<i>': code i swept from -2 to 2 across the columns, the others at 0,
        one row per categorical value, all from the first noise vector."""
        latent, rows = self._rows_per_label(noise)
        latent['code'] = tf.zeros([tf.shape(latent['noise'])[0], self.code_dim])
        previews = {'epoch': (latent, rows)}
        columns = tf.shape(noise)[0]
        swept, _ = self._rows_per_label(tf.repeat(noise[:1], columns, axis=0))
        sweep = tf.tile(tf.linspace(-2.0, 2.0, columns), [rows])[:, tf.newaxis]
        for i in range(self.code_dim):
            previews[f'code_{i + 1}'] = ({**swept, 'code': sweep * tf.one_hot(i, self.code_dim)}, rows)
        return previews

    def compute_losses(self, images, labels, sampler, training=True):
        latent = self.fake_latent(sampler, labels)
        fake = self.fake_images(latent, training)
        real = self.discriminator(images, training=training)
        generated = self.discriminator(fake, training=training)
        if self.supervised:
            g_categorical, d_categorical, metrics = cgan.classifier_losses(
                self.classifier, real, generated, labels, latent['label'], self.fake_class_weight)
        else:  # Mutual-information term (variational lower bound, up to constants): Q recovering the code.
            fake_class_loss = losses.class_loss(latent['label'], generated['class_logits'])
            g_categorical, d_categorical = fake_class_loss, self.fake_class_weight * fake_class_loss
            metrics = {'fake_class_loss': fake_class_loss}
        metrics['code_loss'] = losses.gaussian_code_loss(latent['code'], generated['code_mean'])
        code_term = self.continuous_weight * metrics['code_loss']
        return {'g_loss': (losses.generator_loss(generated['logit']) + code_term
                           + self.categorical_weight * g_categorical),
                'd_loss': (losses.discriminator_loss(real['logit'], generated['logit']) + code_term
                           + self.categorical_weight * d_categorical),
                **metrics}
