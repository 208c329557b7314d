"""InfoGAN (Chen et al. 2016): a categorical code and continuous codes that the generator must
keep recoverable from its images, through a Q head on the discriminator that predicts them.

Unsupervised, the categorical code finds its own meaning, in an arbitrary order. Supervised (the
default when the data has labels), the categorical code is the label and Q's categorical part is
an ACGAN class head (by default ADC-GAN's discriminative classifier) that learns real labels, so
code k draws class k. The continuous codes stay unsupervised either way (see the `code_<i>`
traversal grids).
"""

import tensorflow as tf

from tfgan2 import errors, losses
from tfgan2.models import acgan, cgan, registry
from tfgan2.models import hyperparameters as hp


@registry.register
class InfoGAN(cgan.ConditionalGAN):
    """InfoGAN; the generator's `label` input is the categorical code and `code` the continuous
    codes, uniform in [-1, 1].

    Defaults left as None resolve by `supervised` (the resolved values are what get_config and
    gan.json record). Supervised they follow ACGAN's measured defaults: the discriminative
    classifier, its weight (`cgan.default_class_weight`), no Dropout; unsupervised, the paper's Q
    learning the categorical code from generated images (it has nothing else) with weight 1,
    and the tutorial's Dropout of 0.3.
    """

    kind = 'infogan'
    HYPERPARAMETERS = hp.extend(
        cgan.CONDITIONAL_HYPERPARAMETERS, *acgan.CLASSIFIER_HYPERPARAMETERS,
        hp.Hyperparameter('supervised', bool, None, 'use the data\'s labels as the categorical code (default: '
                          'when the data has labels)'),
        hp.Hyperparameter('categories', int, None, 'values of the categorical code when unsupervised (default 10; '
                          'supervised: the classes)'),
        hp.Hyperparameter('code_dim', int, 2, 'number of continuous codes'),
        hp.Hyperparameter('categorical_weight', float, None, 'weight of the categorical-code term (default 1; '
                          '0.1 for a supervised auxiliary or twin classifier)'),
        hp.Hyperparameter('continuous_weight', float, 1.0, 'weight of the continuous-code information term'),
        dropout=None, classifier=None, fake_class_weight=None)

    def resolve_defaults(self, values):
        given = {key: values[key] for key in ('categories', 'categorical_weight', 'fake_class_weight', 'dropout')}
        supervised = self.num_classes > 0 if values['supervised'] is None else values['supervised']
        classifier, fake_labels = values['classifier'], values['fake_labels']
        if supervised:
            cgan.require_classes(f'{self.kind} (supervised)', self.num_classes)
            if given['categories'] not in (None, self.num_classes):
                raise errors.ConfigError(f'Supervised {self.kind} uses the {self.num_classes} labels of the data as '
                                         f'its categorical code, not categories={given["categories"]}; drop '
                                         f'categories or set supervised=False.')
            classifier = classifier or 'discriminative'
            defaults = dict(categories=self.num_classes, categorical_weight=cgan.default_class_weight(classifier),
                            fake_class_weight=0.0, dropout=0.0)
        else:
            if fake_labels == 'real':
                raise errors.ConfigError(f'Unsupervised {self.kind} cannot draw its categorical code from real '
                                         f'labels (fake_labels=real); use fake_labels=uniform or supervised=True.')
            if given['fake_class_weight'] not in (None, 1.0):
                raise errors.ConfigError(f'Unsupervised {self.kind} learns its categorical code from generated '
                                         f'images only, so fake_class_weight must stay 1 (got '
                                         f'{given["fake_class_weight"]}).')
            if classifier not in (None, 'auxiliary'):
                raise errors.ConfigError(f'Unsupervised {self.kind} has no labels to train a {classifier} '
                                         f'classifier on; its Q head is auxiliary: drop classifier or set '
                                         f'supervised=True.')
            classifier = 'auxiliary'
            defaults = dict(categories=10, categorical_weight=1.0, fake_class_weight=1.0, dropout=0.3)
        resolved = {key: defaults[key] if value is None else value for key, value in given.items()}
        cgan.check_classifier(self.kind, classifier, resolved['fake_class_weight'])
        if resolved['categories'] < 2:
            raise errors.ConfigError(f'categories={resolved["categories"]}: the categorical code needs at '
                                     f'least 2 values.')
        if values['code_dim'] < 1:
            raise errors.ConfigError(f'code_dim={values["code_dim"]}: {self.kind} needs at least one continuous '
                                     f'code.')
        values.update(resolved, supervised=supervised, classifier=classifier)
        return super().resolve_defaults(values)

    def network_options(self):
        h = self.hyperparameters
        return {'num_labels': h.categories, 'code_dim': h.code_dim, 'fake_class_head': h.classifier != 'auxiliary'}

    @property
    def draws_dataset_classes(self):
        return self.hyperparameters.supervised

    def latent_spec(self):
        code_dim = self.hyperparameters.code_dim
        return {**super().latent_spec(), 'code': tf.TensorSpec([None, code_dim], tf.float32, name='code')}

    def sample_latent(self, sampler, batch_size, labels=None):
        return {**super().sample_latent(sampler, batch_size, labels),
                'code': sampler.uniform([batch_size, self.hyperparameters.code_dim], -1.0, 1.0)}

    def preview_latents(self, noise):
        """'epoch': row k draws categorical value k from every fixed noise vector, continuous
        codes at 0. 'code_<i>': code i swept from -2 to 2 across the columns, the others at 0,
        one row per categorical value, all from the first noise vector."""
        code_dim = self.hyperparameters.code_dim
        latent, rows = self._rows_per_label(noise)
        latent['code'] = tf.zeros([tf.shape(latent['noise'])[0], code_dim])
        previews = {'epoch': (latent, rows)}
        columns = tf.shape(noise)[0]
        swept, _ = self._rows_per_label(tf.repeat(noise[:1], columns, axis=0))
        sweep = tf.tile(tf.linspace(-2.0, 2.0, columns), [rows])[:, tf.newaxis]
        for i in range(code_dim):
            previews[f'code_{i + 1}'] = ({**swept, 'code': sweep * tf.one_hot(i, code_dim)}, rows)
        return previews

    def auxiliary_losses(self, real_outputs, fake_outputs, real_conditions, fake_conditions, latent):
        h = self.hyperparameters
        if h.supervised:
            g_categorical, d_categorical, metrics = cgan.classifier_losses(
                h.classifier, real_outputs, fake_outputs, real_conditions, fake_conditions, h.fake_class_weight)
        else:  # Mutual-information term (variational lower bound, up to constants): Q recovering the code.
            fake_class_loss = losses.class_loss(fake_conditions, fake_outputs['class_logits'])
            g_categorical, d_categorical = fake_class_loss, h.fake_class_weight * fake_class_loss
            metrics = {'fake_class_loss': fake_class_loss}
        metrics['code_loss'] = losses.gaussian_code_loss(latent['code'], fake_outputs['code_mean'])
        code_term = h.continuous_weight * metrics['code_loss']
        return (code_term + h.categorical_weight * g_categorical,
                code_term + h.categorical_weight * d_categorical, metrics)
