"""Differentiable augmentation of everything the discriminator sees (DiffAugment, Zhao et al.
2020), with a strength that can adapt to how much the discriminator overfits (ADA, Karras et al.
2020).

On a small dataset the discriminator soon memorises the real images and its feedback to the
generator collapses. Augmenting real and generated images alike, in both networks' updates,
makes memorising harder without teaching the generator to draw augmented images: the
augmentations are differentiable, so the generator's gradient flows through them.

Each operation is applied to each image with probability `p`. With a fixed `p` (1: DiffAugment)
it is a constant; adaptive, `p` starts at 0 and after every discriminator update moves by
±batch/ADAPT_IMAGES towards the value at which the discriminator's mean sign on real images,
E[sign(D(real))] (1 when it is sure of every real image), equals the target: it rises while
the discriminator overfits and falls when it does not, so a large dataset keeps p near 0.
Draws come from the step's stateless sampler, so a run is deterministic under its seed and
resume; `p` is a weight of the GAN, so checkpoints carry it.
"""

import keras
import tensorflow as tf

OPERATIONS = ('color', 'translation', 'cutout')
TRANSLATION = 1 / 8  # the largest shift, as a fraction of the image size (DiffAugment's)
CUTOUT = 1 / 2  # the side of the square cut out, as a fraction of the image size (DiffAugment's)
ADAPT_IMAGES = 100_000  # images over which an adaptive p can move from 0 to 1
# augment='auto' augments data of fewer training images than this, where the discriminator can
# memorise them in a run's first hours; above (Fashion-MNIST's 60,000: 3 epochs in 8 CPU-minutes),
# a run is short of updates, not of data. A judgement, not a measured threshold.
AUTO_BELOW = 20_000
AUTO = 'auto'


def auto_operations(num_examples):
    """What augment='auto' means for data of `num_examples` images (None: not known)."""
    return ','.join(OPERATIONS) if num_examples is not None and num_examples < AUTO_BELOW else 'none'


def parse_operations(text):
    """('color', 'cutout', ...) from 'color,cutout'; () from 'none' or ''; 'auto' must have been
    resolved (`auto_operations`) first."""
    names = tuple(name.strip() for name in text.split(',') if name.strip() and name.strip() != 'none')
    unknown = [name for name in names if name not in OPERATIONS]
    if unknown or len(set(names)) != len(names):
        from tfgan2 import errors
        raise errors.ConfigError(f'augment={text!r}: list operations from {", ".join(OPERATIONS)} once each, '
                                 f'separated by commas, or none, or auto.')
    return names


def _chosen(sampler, batch, probability):
    """[B] bools: which images an operation applies to."""
    return sampler.uniform([batch]) < probability


def color(images, sampler, chosen):
    """Brightness, saturation and contrast, each by a random factor per chosen image."""
    shape = [tf.shape(images)[0], 1, 1, 1]
    adjusted = images + (sampler.uniform(shape) - 0.5)
    if images.shape[-1] == 3:
        mean = tf.reduce_mean(adjusted, axis=3, keepdims=True)
        adjusted = (adjusted - mean) * (sampler.uniform(shape) * 2.0) + mean
    mean = tf.reduce_mean(adjusted, axis=[1, 2, 3], keepdims=True)
    adjusted = (adjusted - mean) * (sampler.uniform(shape) + 0.5) + mean
    return tf.where(chosen[:, tf.newaxis, tf.newaxis, tf.newaxis], adjusted, images)


def translation(images, sampler, chosen):
    """Each chosen image shifted by up to TRANSLATION of its size in each direction, the
    uncovered border filled with 0 (mid-grey in [-1, 1])."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    rows = _shifted_indices(sampler, batch, height, chosen)
    columns = _shifted_indices(sampler, batch, width, chosen)
    pad_rows, pad_columns = int(height * TRANSLATION + 0.5), int(width * TRANSLATION + 0.5)
    padded = tf.pad(images, [[0, 0], [pad_rows, pad_rows], [pad_columns, pad_columns], [0, 0]])
    shifted = tf.gather(padded, rows + pad_rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns + pad_columns, axis=2, batch_dims=1)


def _shifted_indices(sampler, batch, size, chosen):
    """[B, size] source indices of one axis: position + a shift in [-size*TRANSLATION, +]."""
    limit = int(size * TRANSLATION + 0.5)
    shift = sampler.uniform([batch, 1], -limit, limit + 1, dtype=tf.int32)
    shift = shift * tf.cast(chosen, tf.int32)[:, tf.newaxis]
    return tf.range(size)[tf.newaxis] + shift


def cutout(images, sampler, chosen):
    """A square with sides CUTOUT of the image's, around a random point (cut off at the
    borders), set to 0 in each chosen image."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    inside = (_covered(sampler, batch, height)[:, :, tf.newaxis] & _covered(sampler, batch, width)[:, tf.newaxis, :]
              & chosen[:, tf.newaxis, tf.newaxis])
    return images * (1.0 - tf.cast(inside, images.dtype))[..., tf.newaxis]


def _covered(sampler, batch, size):
    """[B, size] bools: the positions of one axis a cut-out square covers."""
    side = int(size * CUTOUT + 0.5)
    start = sampler.uniform([batch, 1], 0, size, dtype=tf.int32) - side // 2
    positions = tf.range(size)[tf.newaxis]
    return (positions >= start) & (positions < start + side)


_APPLY = {'color': color, 'translation': translation, 'cutout': cutout}


@keras.saving.register_keras_serializable(package='tfgan2')
class Augmentation(keras.layers.Layer):
    """The augmentation of one GAN: its operations and the probability `p` (a weight) with
    which each applies to each image; `target` None keeps p fixed, a number adapts it."""

    def __init__(self, operations, probability=1.0, target=None, **kwargs):
        super().__init__(**{**kwargs, 'dtype': 'float32'})
        self.operations = tuple(operations)
        self.target = target
        self.initial_probability = 0.0 if target is not None else float(probability)
        self.probability = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_probability),
                                           trainable=False, name='probability')

    def augment(self, images, sampler):
        """`images` [B, H, W, C] in [-1, 1] with each operation applied to each image with
        probability p; random draws from `sampler` (a `tfgan2.rng.StatelessSampler`)."""
        batch = tf.shape(images)[0]
        dtype = images.dtype
        images = tf.cast(images, tf.float32)
        for name in self.operations:
            images = _APPLY[name](images, sampler, _chosen(sampler, batch, self.probability))
        return tf.cast(images, dtype)

    def adapt(self, real_sign, images):
        """After a discriminator update on `images` real images whose logits had mean sign
        `real_sign`: moves an adaptive p towards the target by images / ADAPT_IMAGES."""
        if self.target is None:
            return
        step = tf.sign(tf.cast(real_sign, tf.float32) - self.target) * (images / ADAPT_IMAGES)
        self.probability.assign(tf.clip_by_value(self.probability + step, 0.0, 1.0))

    def get_config(self):
        config = {**super().get_config(), 'operations': list(self.operations), 'target': self.target}
        return {**config, 'probability': self.initial_probability}
