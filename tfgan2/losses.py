"""The adversarial losses a GAN can be given (`ADVERSARIAL_LOSSES`, chosen by its `loss`
hyperparameter), and the class and code terms the conditional GANs add.

An adversarial loss maps the discriminator's logits on a batch of real and of generated images
to the discriminator's loss and the generator's. Each returns a float32 batch mean, also for the
float16/bfloat16 logits of mixed precision. Adding one is a pair of functions and an entry in
`ADVERSARIAL_LOSSES`.
"""

import dataclasses
from typing import Callable

import tensorflow as tf


def _f32(logits):
    return tf.cast(logits, tf.float32)


def _softplus_mean(x):
    return tf.reduce_mean(tf.nn.softplus(_f32(x)))


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """(real logits, fake logits) -> scalar, for each network."""
    discriminator: Callable
    generator: Callable
    summary: str


def _non_saturating_d(real, fake):
    # -log sigmoid(real) - log(1 - sigmoid(fake)) = softplus(-real) + softplus(fake)
    return _softplus_mean(-real) + _softplus_mean(fake)


def _non_saturating_g(real, fake):
    del real
    return _softplus_mean(-fake)  # -log sigmoid(fake): strong gradients while D wins


def _hinge_d(real, fake):
    return tf.reduce_mean(tf.nn.relu(1.0 - _f32(real))) + tf.reduce_mean(tf.nn.relu(1.0 + _f32(fake)))


def _wasserstein_d(real, fake):
    return tf.reduce_mean(_f32(fake)) - tf.reduce_mean(_f32(real))


def _wasserstein_g(real, fake):
    del real
    return -tf.reduce_mean(_f32(fake))


def _least_squares_d(real, fake):
    return 0.5 * (tf.reduce_mean(tf.square(_f32(real) - 1.0)) + tf.reduce_mean(tf.square(_f32(fake))))


def _least_squares_g(real, fake):
    del real
    return 0.5 * tf.reduce_mean(tf.square(_f32(fake) - 1.0))


def _relativistic_d(real, fake):
    return _softplus_mean(_f32(fake) - _f32(real))


def _relativistic_g(real, fake):
    return _softplus_mean(_f32(real) - _f32(fake))


ADVERSARIAL_LOSSES = {
    'non_saturating': AdversarialLoss(
        _non_saturating_d, _non_saturating_g,
        'binary cross-entropy; the generator maximises log D(G(z)) (Goodfellow et al. 2014)'),
    'hinge': AdversarialLoss(
        _hinge_d, _wasserstein_g, 'hinge for the discriminator, -D(G(z)) for the generator (Lim & Ye 2017)'),
    'wasserstein': AdversarialLoss(
        _wasserstein_d, _wasserstein_g, 'critic scores, D(fake) - D(real) (Arjovsky et al. 2017); pair it with '
                                        'penalty=gradient (WGAN-GP)'),
    'least_squares': AdversarialLoss(
        _least_squares_d, _least_squares_g, 'squared distance to 1 (real) and 0 (fake) (Mao et al. 2017)'),
    'relativistic': AdversarialLoss(
        _relativistic_d, _relativistic_g, 'relativistic pairing, softplus(D(fake) - D(real)) over pairs of a '
                                          'real and a generated image (Jolicoeur-Martineau 2019; R3GAN)'),
}


def class_loss(labels, logits):
    """Sparse categorical cross-entropy on logits: how well `logits` predict `labels`."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=_f32(logits)))


def gaussian_code_loss(codes, predicted_mean):
    """InfoGAN's continuous-code term: Gaussian negative log-likelihood with unit variance,
    i.e. half the squared error, up to a constant."""
    return tf.reduce_mean(tf.reduce_sum(0.5 * tf.square(codes - _f32(predicted_mean)), axis=-1))
