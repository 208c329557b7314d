"""What the shared training loop, the exporter and the evaluator need from any GAN."""

import inspect

import keras
import tensorflow as tf

from tfgan2 import rng


class GAN(keras.Model):
    """A generator, a moving average of it, a discriminator, and the losses that train them.

    `generator` is what the optimizer trains. `averaged_generator` is a copy holding the moving
    average of its weights that `tfgan2.Trainer` keeps (decay 0 keeps it equal): calling the
    GAN, `generate`, `sample`, previews, evaluation and exports use it, because the average
    damps the back-and-forth of adversarial training. Generators take a dict of latents
    (`latent_spec`) and return images in [-1, 1].

    Subclasses build the networks and define how latents are sampled (`sample_latent`) and the
    losses (`compute_losses`). Their constructor arguments are their hyperparameters, kept as
    attributes of the same name: `get_config()` returns them, so `keras.saving` and a run's
    gan.json rebuild the same GAN.

    Hyperparameters:
      image_shape: (height, width, channels) of the images; it sets the networks' stages.
      noise_dim: length of the generator's noise vector.
      generator_widths: filters per generator stage from the smallest map up (default halving
        to 64 at the last stage, 512 at most); extra widths add stride-1 layers on the smallest map.
      discriminator_widths: filters per discriminator stage from the image down (default 64,
        doubling, 512 at most).
      kernel_size: convolution kernel size of both networks.
      dropout: Dropout rate after each discriminator convolution (0: none).
    """

    kind = 'gan'  # The name `tfgan2.models.build_gan` knows the GAN by.

    def __init__(self, generator, discriminator, num_classes=0):
        super().__init__(name=self.kind)
        self.generator = generator
        self.discriminator = discriminator
        self.averaged_generator = type(generator).from_config(
            {**generator.get_config(), 'name': 'averaged_generator'})
        for average, weight in zip(self.averaged_generator.weights, generator.weights):
            average.assign(weight)
        self.num_classes = num_classes
        # The architecture's hyperparameters, as the networks resolved them (widths by image size).
        self.image_shape = generator.arguments['image_shape']
        self.noise_dim = generator.arguments['noise_dim']
        self.generator_widths = generator.arguments['widths']
        self.discriminator_widths = discriminator.arguments['widths']
        self.kernel_size = generator.arguments['kernel_size']
        self.dropout = discriminator.arguments['dropout']
        self.built = True

    def get_config(self):
        """The constructor's arguments, read back from the attributes of the same name."""
        names = [name for name in inspect.signature(type(self).__init__).parameters if name != 'self']
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

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

    def fake_images(self, latent, training=True):
        """Images from the trained generator, as the losses see them."""
        return self.generator(latent, training=training)

    def begin_epoch(self, data, epoch, seed):
        """Called by the trainer before the first step of each epoch (not when an interrupted
        epoch resumes), with the training `data`: the place for state a GAN derives from the
        data, such as clusters. Nothing by default."""

    def compute_losses(self, images, labels, sampler, training=True):
        """Returns a dict of float32 scalars: `g_loss` and `d_loss`, which train the two networks,
        plus any diagnostics (e.g. class losses on real and fake images) for logs and history."""
        raise NotImplementedError

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
