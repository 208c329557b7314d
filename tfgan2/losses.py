"""The loss terms every GAN here is assembled from; each returns a scalar batch mean in float32,
even for the float16/bfloat16 outputs of networks under mixed precision."""

import tensorflow as tf


def _bce(labels, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.float32), logits=tf.cast(logits, tf.float32)))


def discriminator_loss(real_logits, fake_logits, real_label=1.0):
    """Binary cross-entropy pushing real logits up and fake ones down.

    `real_label` < 1 is one-sided label smoothing (Salimans et al. 2016): it keeps the
    discriminator from growing over-confident and starving the generator of gradient.
    """
    return (_bce(tf.fill(tf.shape(real_logits), real_label), real_logits)
            + _bce(tf.zeros_like(fake_logits), fake_logits))


def generator_loss(fake_logits):
    """Non-saturating generator loss: -log D(G(z)), strong gradients while D wins."""
    return _bce(tf.ones_like(fake_logits), fake_logits)


def class_loss(labels, logits):
    """Sparse categorical cross-entropy on logits: how well `logits` predict `labels`."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=tf.cast(logits, tf.float32)))


def gaussian_code_loss(codes, predicted_mean):
    """InfoGAN's continuous-code term: Gaussian negative log-likelihood with unit variance,
    i.e. half the squared error, up to a constant."""
    return tf.reduce_mean(tf.reduce_sum(0.5 * tf.square(codes - tf.cast(predicted_mean, tf.float32)),
                                        axis=-1))
