"""The GAN contract: what the shared training loop, the exporter and the evaluator need from any
GAN, and the parts every GAN is assembled from.

A GAN declares its hyperparameters (`HYPERPARAMETERS`), builds its two networks
(`build_networks`) and says how it conditions them: which latents and conditions generated
images get (`fake_latent`), which conditions real images have (`real_conditions`), how the
discriminator's outputs become the real/fake logit (`adversarial_logit`) and which terms of its
own it adds (`auxiliary_losses`). `compute_losses` assembles one training step's losses from
those and from the parts its hyperparameters choose, the same for every GAN: the adversarial loss
(`tfgan2.losses`), a gradient penalty and LeCam regularisation (`tfgan2.penalties`), and
differentiable augmentation of everything the discriminator sees (`tfgan2.augment`).
docs/adding_a_gan.md shows a variant written as one file.
"""

import keras
import tensorflow as tf

from tfgan2 import augment, errors, losses, penalties, rng
from tfgan2.models import hyperparameters as hp
from tfgan2.models import networks

# The papers' weight of each gradient penalty (penalty_weight's default; not measured here):
# WGAN-GP's 10 for `gradient`; R3GAN's order of magnitude for the others (weight = StyleGAN's gamma / 2).
DEFAULT_PENALTY_WEIGHTS = {'none': 0.0, 'gradient': 10.0, 'r1': 0.05, 'r2': 0.05, 'r1_r2': 0.05}

HYPERPARAMETERS = (
    hp.Hyperparameter('noise_dim', int, 100, 'length of the generator\'s noise vector'),
    hp.Hyperparameter('generator_widths', hp.Widths, None,
                      'filters per generator stage from the smallest map up (default 128, halving per stage to '
                      '32 at least); extra widths add stride-1 layers on the smallest map'),
    hp.Hyperparameter('discriminator_widths', hp.Widths, None,
                      'filters per discriminator stage from the image down (default: the generator\'s reversed)'),
    hp.Hyperparameter('stages', int, None, 'doublings from the generator\'s smallest map to the image and halvings '
                      'in the discriminator (default: halving while the map stays even and above 8, e.g. 2 '
                      'for 28 and 32 px, 3 for 64 px, 4 for 128 px)'),
    hp.Hyperparameter('kernel_size', int, 4, 'convolution kernel size of both networks'),
    hp.Hyperparameter('dropout', float, 0.3, 'Dropout rate after each discriminator convolution (0: none)'),
    hp.Hyperparameter('spectral_norm', bool, False, 'spectral normalisation of every discriminator layer'),
    hp.Hyperparameter('skip_excitation', bool, False, 'FastGAN\'s skip-layer excitation in the generator: the map '
                      'two doublings before the last gates its channels (3 stages or more)'),
    hp.Hyperparameter('reconstruction_weight', float, 0.0, 'weight of the discriminator\'s reconstruction of '
                      'real images from its last map (FastGAN\'s self-supervised discriminator; 0: none)'),
    hp.Hyperparameter('loss', str, 'non_saturating', 'the adversarial loss (tfgan2.losses)',
                      choices=losses.ADVERSARIAL_LOSSES),
    hp.Hyperparameter('penalty', str, 'none', 'gradient penalty of the discriminator (tfgan2.penalties): '
                      'WGAN-GP\'s on points between real and generated images, R1 on real, R2 on generated',
                      choices=penalties.GRADIENT_PENALTIES),
    hp.Hyperparameter('penalty_weight', float, None, 'weight of the gradient penalty (default 10 for gradient, '
                      '0.05 for r1, r2 and r1_r2)'),
    hp.Hyperparameter('penalty_every', int, 1, 'apply the gradient penalty every N steps, weighted by N (lazy '
                      'regularisation)'),
    hp.Hyperparameter('lecam_weight', float, 0.0, 'weight of LeCam regularisation, which limits how far the '
                      'discriminator fits a small dataset (0: off)'),
    hp.Hyperparameter('augment', str, augment.AUTO, 'differentiable augmentations of every image the '
                      f'discriminator sees, comma-separated from {", ".join(augment.OPERATIONS)}; none: off; auto: '
                      f'all of them for data of fewer than {augment.AUTO_BELOW} images, else none (build_gan '
                      f'resolves it from the data)'),
    hp.Hyperparameter('augment_target', float, 0.6, 'with augment: the discriminator\'s mean sign on real '
                      'images that the augmentation probability adapts to (ADA\'s 0.6); 0: always augment '
                      '(DiffAugment)'),
)


class GAN(keras.Model):
    """A generator, a moving average of it, a discriminator, and the losses that train them.

    `generator` is what the optimizer trains. `averaged_generator` is a copy holding the moving
    average of its weights that `tfgan2.Trainer` keeps (decay 0 keeps it equal): calling the
    GAN, `generate`, `sample`, previews, evaluation and exports use it, because the average
    damps the back-and-forth of adversarial training. Generators take a dict of latents
    (`latent_spec`) and return images in [-1, 1].

    `hyperparameters` holds the resolved value of every declared hyperparameter; `get_config()`
    returns them with the data's `image_shape` and `num_classes`, so `keras.saving` and a run's
    gan.json rebuild the same GAN.
    """

    kind = 'gan'  # The name `tfgan2.models.build_gan` knows the GAN by.
    HYPERPARAMETERS = HYPERPARAMETERS

    def __init__(self, image_shape, num_classes=0, **hyperparameters):
        super().__init__(name=self.kind)
        self.image_shape = tuple(int(size) for size in image_shape)
        self.num_classes = int(num_classes)
        values = hp.resolve(self.HYPERPARAMETERS, hyperparameters, self.kind)
        self.hyperparameters = hp.Values(self.resolve_defaults(values))
        self.generator, self.discriminator = self.build_networks()
        self.averaged_generator = type(self.generator).from_config(
            {**self.generator.get_config(), 'name': 'averaged_generator'})
        for average, weight in zip(self.averaged_generator.weights, self.generator.weights):
            average.assign(weight)
        h = self.hyperparameters
        operations = augment.parse_operations(h.augment)
        self.augmentation = (augment.Augmentation(operations, target=h.augment_target or None, name='augmentation')
                             if operations else None)
        self.lecam = penalties.LeCam(name='lecam') if h.lecam_weight else None
        self.built = True

    # ---- Hyperparameters and networks ----

    def resolve_defaults(self, values):
        """The hyperparameters with the defaults left as None resolved and every value checked:
        a subclass resolves its own after calling this."""
        values['stages'] = networks.stages(self.image_shape, values['stages'])[0]
        for role in ('generator', 'discriminator'):
            if values[f'{role}_widths'] is None:
                values[f'{role}_widths'] = networks.default_widths(self.image_shape, role, values['stages'])
        if values['penalty_weight'] is None:
            values['penalty_weight'] = DEFAULT_PENALTY_WEIGHTS[values['penalty']]
        if values['augment'] == augment.AUTO:
            values['augment'] = augment.auto_operations(None)  # built without data: `build_gan` knows its size
        augment.parse_operations(values['augment'])
        checks = [('noise_dim', values['noise_dim'] >= 1, 'at least 1'),
                  ('kernel_size', values['kernel_size'] >= 1, 'at least 1'),
                  ('dropout', 0 <= values['dropout'] < 1, 'in [0, 1)'),
                  ('penalty_weight', values['penalty_weight'] >= 0, 'at least 0'),
                  ('penalty_every', values['penalty_every'] >= 1, 'at least 1'),
                  ('lecam_weight', values['lecam_weight'] >= 0, 'at least 0'),
                  ('reconstruction_weight', values['reconstruction_weight'] >= 0, 'at least 0'),
                  ('augment_target', 0 <= values['augment_target'] < 1, 'in [0, 1), e.g. 0.6')]
        for name, valid, expected in checks:
            if not valid:
                raise errors.ConfigError(f'{name}={values[name]}: use a value {expected}.')
        return values

    def build_networks(self):
        """(generator, discriminator), sized by the image and the hyperparameters."""
        raise NotImplementedError

    def build_generator(self, **arguments):
        """The shared generator with this GAN's architecture settings (`networks.Generator`)."""
        h = self.hyperparameters
        return networks.Generator(self.image_shape, h.noise_dim, widths=h.generator_widths,
                                  kernel_size=h.kernel_size, stages=h.stages, skip_excitation=h.skip_excitation,
                                  name='generator', **arguments)

    def build_discriminator(self, name='discriminator', **arguments):
        """The shared discriminator with this GAN's architecture settings (`networks.Discriminator`)."""
        h = self.hyperparameters
        return networks.Discriminator(self.image_shape, h.discriminator_widths, h.kernel_size, h.dropout,
                                      stages=h.stages, spectral_norm=h.spectral_norm,
                                      reconstruction=h.reconstruction_weight > 0, name=name, **arguments)

    def get_config(self):
        return {'image_shape': self.image_shape, 'num_classes': self.num_classes, **self.hyperparameters}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def noise_dim(self):
        return self.hyperparameters.noise_dim

    # ---- Latents, sampling and previews ----

    @property
    def conditional(self):
        """True when the generator takes a `label`."""
        return 'label' in self.latent_spec()

    @property
    def num_labels(self):
        """How many values the generator's `label` takes (0 when it takes none)."""
        return self.generator.arguments['num_classes']

    @property
    def draws_dataset_classes(self):
        """True when the `label` input asks for a class of the training data (not, say, a
        category the GAN found on its own)."""
        return self.conditional

    def latent_spec(self):
        """Generator inputs with a free batch dimension, as `{name: tf.TensorSpec}`."""
        return {'noise': tf.TensorSpec([None, self.noise_dim], tf.float32, name='noise')}

    def sample_latent(self, sampler, batch_size, labels=None):
        """Generator inputs for `batch_size` images drawn with a `tfgan2.rng.StatelessSampler`."""
        del labels  # Unconditional.
        return {'noise': sampler.normal([batch_size, self.noise_dim])}

    @property
    def preview_noise_count(self):
        """How many fixed noise vectors the per-epoch grids use."""
        return 64

    def preview_latents(self, noise):
        """{grid name: (latent, rows)} for the per-epoch grids from the fixed `noise`; the main
        grid, 'epoch', comes first."""
        return {'epoch': ({'noise': noise}, 8)}

    def generate(self, latent):
        """Images in [-1, 1] from the averaged generator, in float32 whatever precision it
        computes in."""
        return tf.cast(self.averaged_generator(latent, training=False), tf.float32)

    def call(self, latent, training=False):
        """The same as `generate`: the GAN as a model maps latents to images."""
        del training  # The averaged generator always runs in inference mode.
        return self.generate(latent)

    def sample(self, num_images, labels=None, seed=0):
        """`num_images` images in [-1, 1] (of `labels`, for conditional GANs), the same for the
        same seed."""
        if labels is not None:
            labels = tf.convert_to_tensor(labels, tf.int32)
            num_images = tf.shape(labels)[0]
        return self.generate(self.sample_latent(rng.StatelessSampler(seed), num_images, labels))

    def begin_epoch(self, data, epoch, seed):
        """Called by the trainer before the first step of each epoch (not when an interrupted
        epoch resumes), with the training `data`: the place for state a GAN derives from the
        data, such as clusters. Nothing by default."""

    # ---- How a GAN conditions its networks (what variants override) ----

    def fake_latent(self, sampler, labels):
        """(generator inputs, conditions) for one training batch of generated images, given the
        real batch's `labels`: conditions are what `adversarial_logit` pairs with the images
        (None by default)."""
        return self.sample_latent(sampler, tf.shape(labels)[0]), None

    def real_conditions(self, images, labels):
        """The conditions of the real `images` (None by default)."""
        del images, labels
        return None

    def adversarial_logit(self, outputs, conditions):
        """The real/fake logit [B, 1] of images whose discriminator `outputs` are given, under
        their `conditions`: the `logit` head by default."""
        del conditions
        return outputs['logit']

    def auxiliary_losses(self, real_outputs, fake_outputs, real_conditions, fake_conditions, latent):
        """(generator's term, discriminator's term, diagnostics) a GAN adds to the adversarial
        losses, from the discriminator's outputs on real images and on images generated from
        `latent`, and the conditions of each; nothing by default."""
        del real_outputs, fake_outputs, real_conditions, fake_conditions, latent
        return 0.0, 0.0, {}

    # ---- The losses of one step ----

    def discriminate(self, images, sampler, training=True):
        """The discriminator's outputs on `images`, augmented first when the GAN augments."""
        if self.augmentation is not None:
            images = self.augmentation.augment(images, sampler)
        return self.discriminator(images, training=training)

    def compute_losses(self, images, labels, sampler, step=0, training=True):
        """One step's losses on real `images` of `labels`, with latents and augmentations drawn
        from `sampler` (a `tfgan2.rng.StatelessSampler`) at update `step`: a dict of float32
        scalars with `g_loss` and `d_loss`, which train the two networks, and diagnostics for
        logs and history, among them the discriminator's mean logit on real and generated
        images (`real_logit`, `fake_logit`) and its mean sign on real ones (`real_sign`)."""
        h = self.hyperparameters
        latent, fake_conditions = self.fake_latent(sampler, labels)
        fake = self.generator(latent, training=training)
        real_conditions = self.real_conditions(images, labels)
        real_outputs = self.discriminate(images, sampler, training)
        fake_outputs = self.discriminate(fake, sampler, training)
        real_logit = tf.cast(self.adversarial_logit(real_outputs, real_conditions), tf.float32)
        fake_logit = tf.cast(self.adversarial_logit(fake_outputs, fake_conditions), tf.float32)
        adversarial = losses.ADVERSARIAL_LOSSES[h.loss]
        g_term, d_term, metrics = self.auxiliary_losses(real_outputs, fake_outputs, real_conditions,
                                                         fake_conditions, latent)
        g_loss = adversarial.generator(real_logit, fake_logit) + g_term
        d_loss = adversarial.discriminator(real_logit, fake_logit) + d_term
        if h.penalty != 'none':
            def critic(conditions):
                return lambda x: self.adversarial_logit(self.discriminate(x, sampler, training), conditions)
            metrics['penalty'] = self._gradient_penalty(critic(real_conditions), critic(fake_conditions),
                                                        images, fake, sampler, step)
            d_loss += h.penalty_weight * metrics['penalty']
        if h.reconstruction_weight:
            metrics['reconstruction_loss'] = tf.reduce_mean(real_outputs['reconstruction_error'])
            d_loss += h.reconstruction_weight * metrics['reconstruction_loss']
        if self.lecam is not None:
            metrics['lecam'] = self.lecam.term(real_logit, fake_logit)
            d_loss += h.lecam_weight * metrics['lecam']
        if self.augmentation is not None:
            metrics['augment_p'] = tf.identity(self.augmentation.probability)
        return {'g_loss': g_loss, 'd_loss': d_loss, **metrics, 'real_logit': tf.reduce_mean(real_logit),
                'fake_logit': tf.reduce_mean(fake_logit), 'real_sign': tf.reduce_mean(tf.sign(real_logit))}

    def _gradient_penalty(self, real_critic, fake_critic, real, fake, sampler, step):
        """The chosen penalty, at every `penalty_every`-th step and weighted by that count."""
        penalty, every = penalties.GRADIENT_PENALTIES[self.hyperparameters.penalty], self.hyperparameters.penalty_every

        def compute():
            return every * penalty(real_critic, fake_critic, real, tf.stop_gradient(fake), sampler)
        if every == 1:
            return compute()
        return tf.cond(tf.equal(tf.math.floormod(tf.cast(step, tf.int64), every), 0), compute,
                       lambda: tf.constant(0.0))

    def update_state(self, metrics, images):
        """After a discriminator update on `images` real images with these `metrics` (of the
        global batch): adapts the augmentation probability and LeCam's averages."""
        if self.augmentation is not None:
            self.augmentation.adapt(metrics['real_sign'], images)
        if self.lecam is not None:
            self.lecam.update(metrics['real_logit'], metrics['fake_logit'])

    # ---- Keras ----

    def summary(self, **kwargs):
        """The generator's and the discriminator's summaries, with every layer's shape."""
        self.generator.summary(**kwargs)
        self.discriminator.summary(**kwargs)

    def compile(self, *args, **kwargs):
        raise TypeError(_TRAIN_WITH_TRAINER)

    def fit(self, *args, **kwargs):
        raise TypeError(_TRAIN_WITH_TRAINER)


_TRAIN_WITH_TRAINER = ('A GAN trains with tfgan2.Trainer(gan, model_dir).fit(data, epochs=...), which '
                       'keeps both optimizers, the moving average and checkpoints for exact resume; '
                       'Keras compile()/fit() are not used.')
