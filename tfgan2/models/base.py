"""What the shared training loop, the exporter and the evaluator need from any GAN."""

import tensorflow as tf


class GAN:
    """A generator, a discriminator, and the losses that train them.

    Generators are `keras.Model`s called with a dict of latent inputs (`latent_spec` names
    them: always `noise`, plus `label` and `code` for conditional models) and return images
    in [-1, 1]. Subclasses define the networks, how latents are sampled and the losses.
    """

    name = 'gan'

    def __init__(self, generator, discriminator, image_shape, noise_dim, num_classes):
        self.generator = generator
        self.discriminator = discriminator
        self.image_shape = tuple(image_shape)
        self.noise_dim = noise_dim
        self.num_classes = num_classes

    @property
    def conditional(self):
        return 'label' in self.latent_spec()

    def latent_spec(self):
        """Generator inputs with a free batch dimension, as `{name: tf.TensorSpec}`."""
        return {'noise': tf.TensorSpec([None, self.noise_dim], tf.float32, name='noise')}

    def sample_latent(self, rng, batch_size, labels=None):
        """Draws generator inputs for `batch_size` images from the stateful `rng`."""
        del labels  # Unconditional.
        return {'noise': rng.normal([batch_size, self.noise_dim])}

    def preview_noise_count(self):
        """How many fixed noise vectors the per-epoch grid uses."""
        return 64

    def preview_latent(self, noise):
        """Generator inputs for the per-epoch grid from the fixed `noise`; returns (latent, rows)."""
        return {'noise': noise}, 8

    def extra_previews(self, noise):
        """Further per-epoch grids, as {name: (latent, rows)} (e.g. InfoGAN's code sweeps)."""
        del noise
        return {}

    def generate(self, latent, training=False):
        """Images in float32, whatever precision the generator computes in (mixed precision)."""
        return tf.cast(self.generator(latent, training=training), tf.float32)

    def compute_losses(self, images, labels, rng, training=True):
        """Returns a dict of scalars: `g_loss` and `d_loss`, which train the two networks, plus
        any diagnostics (e.g. class losses on real vs fake), all shown in logs and history."""
        raise NotImplementedError

    def build(self):
        """Creates all variables (needed before restoring a checkpoint or tracing a step)."""
        images = tf.zeros([1, *self.image_shape])
        latent = {k: tf.zeros([1, *spec.shape[1:]], spec.dtype) for k, spec in self.latent_spec().items()}
        self.generate(latent)
        self.compute_losses(images, tf.zeros([1], tf.int32), tf.random.Generator.from_seed(0),
                            training=False)


class StatelessRandom:
    """The sampling methods of `tf.random.Generator` that `GAN.sample_latent` uses, drawn with
    stateless ops: draw i uses the seed (seed, i), so results depend only on `seed`. Training
    seeds it with (run seed, step) for exact resume; serving graphs with the request's seed, so
    concurrent requests share no state."""

    def __init__(self, seed):
        self._seed = tf.convert_to_tensor(seed, tf.int64)
        self._draws = 0

    def _next_seed(self):
        self._draws += 1
        return tf.stack([self._seed, tf.constant(self._draws, tf.int64)])

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=tf.float32):
        return tf.random.stateless_normal(shape, self._next_seed(), mean, stddev, dtype)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=tf.float32):
        return tf.random.stateless_truncated_normal(shape, self._next_seed(), mean, stddev, dtype)

    def uniform(self, shape, minval=0, maxval=None, dtype=tf.float32):
        return tf.random.stateless_uniform(shape, self._next_seed(), minval, maxval, dtype)
