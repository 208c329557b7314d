"""The parts a GAN's losses are assembled from, each against numbers worked out by hand: the
adversarial losses, the gradient penalties (on critics whose gradients are known in closed form),
lazy regularisation and LeCam regularisation."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY_WIDTHS

from tfgan2 import build_gan, losses, penalties, rng

REAL = tf.constant([[1.0], [-1.0]])
FAKE = tf.constant([[0.5], [-2.0]])


# softplus(x) = ln(1 + e^x): softplus(-2) = 0.126928, softplus(-1) = 0.313262,
# softplus(-0.5) = 0.474077, softplus(0.5) = 0.974077, softplus(1) = 1.313262, softplus(2) = 2.126928.
@pytest.mark.parametrize('name, d_loss, g_loss', [
    # D: mean softplus(-real) + mean softplus(fake); G: mean softplus(-fake).
    ('non_saturating', (0.313262 + 1.313262) / 2 + (0.974077 + 0.126928) / 2, (0.474077 + 2.126928) / 2),
    # D: mean relu(1 - real) + mean relu(1 + fake) = (0 + 2) / 2 + (1.5 + 0) / 2; G: -mean fake.
    ('hinge', 1.75, 0.75),
    # D: mean fake - mean real = -0.75 - 0; G: -mean fake.
    ('wasserstein', -0.75, 0.75),
    # D: ((0 + 4) / 2 + (0.25 + 4) / 2) / 2; G: ((0.5 - 1)^2 + (-2 - 1)^2) / 2 / 2.
    ('least_squares', 2.0625, 2.3125),
    # Pairs (1, 0.5) and (-1, -2): D mean softplus(fake - real), G mean softplus(real - fake).
    ('relativistic', (0.474077 + 0.313262) / 2, (0.974077 + 1.313262) / 2),
])
def test_adversarial_losses_match_hand_computation(name, d_loss, g_loss):
    loss = losses.ADVERSARIAL_LOSSES[name]
    assert float(loss.discriminator(REAL, FAKE)) == pytest.approx(d_loss, abs=1e-5)
    assert float(loss.generator(REAL, FAKE)) == pytest.approx(g_loss, abs=1e-5)
    # bfloat16 logits (mixed precision) give float32 losses of the same value.
    low = loss.discriminator(tf.cast(REAL, tf.bfloat16), tf.cast(FAKE, tf.bfloat16))
    assert low.dtype == tf.float32 and float(low) == pytest.approx(d_loss, abs=1e-2)


# Linear critics w . x have the gradient w everywhere: |w|^2 = 1 + 4 + 0 + 4 = 9 for the real
# side, 4 for the fake side (all ones); the quadratic x . x / 2 has the gradient x.
W = tf.constant([[[1.0], [2.0]], [[0.0], [2.0]]])
REAL_CRITIC = lambda images: tf.reduce_sum(images * W, axis=[1, 2, 3])
FAKE_CRITIC = lambda images: tf.reduce_sum(images, axis=[1, 2, 3])
QUADRATIC = lambda images: 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])
IMAGES = tf.random.normal([3, 2, 2, 1], seed=1)


@pytest.mark.parametrize('name, expected', [('r1', 9.0), ('r2', 4.0), ('r1_r2', 13.0), ('gradient', (3.0 - 1.0) ** 2)])
def test_gradient_penalties_on_linear_critics(name, expected):
    penalty = penalties.GRADIENT_PENALTIES[name]
    value = penalty(REAL_CRITIC, FAKE_CRITIC, IMAGES, IMAGES + 1.0, rng.StatelessSampler(0))
    assert float(value) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_scores_points_between_real_and_generated_images():
    """Real images 0 and generated ones 1: the point at mix m is (1 - m) everywhere, where the
    quadratic critic's gradient has norm 2 (1 - m) over 4 pixels."""
    real, fake = tf.zeros([3, 2, 2, 1]), tf.ones([3, 2, 2, 1])
    value = penalties.gradient_penalty(QUADRATIC, None, real, fake, rng.StatelessSampler(7))
    mix = rng.StatelessSampler(7).uniform([3, 1, 1, 1]).numpy().ravel()  # the same draw
    assert float(value) == pytest.approx(np.mean((2 * (1 - mix) - 1) ** 2), rel=1e-5)
    assert 0 < mix.min() and mix.max() < 1 and np.ptp(mix) > 0  # a real spread of points


def test_r1_flows_into_the_discriminator_update():
    """The penalty is differentiable again: its gradient with respect to the critic's weights."""
    weights = tf.Variable(W)
    with tf.GradientTape() as tape:
        value = penalties.r1(lambda x: tf.reduce_sum(x * weights, axis=[1, 2, 3]), None, IMAGES, None, None)
    np.testing.assert_allclose(tape.gradient(value, weights), 2 * W.numpy(), rtol=1e-5)  # d|w|^2/dw = 2w


def test_lazy_penalty_applies_every_nth_step_weighted_by_n():
    gan = build_gan('dcgan', image_shape=(28, 28, 1), **TINY_WIDTHS, dropout=0.0, penalty='r1', penalty_every=4)
    every_step = build_gan('dcgan', image_shape=(28, 28, 1), **TINY_WIDTHS, dropout=0.0, penalty='r1')
    for average, weight in zip(every_step.weights, gan.weights):
        average.assign(weight)
    images, labels = tf.random.normal([4, 28, 28, 1], seed=2), tf.fill([4], -1)
    measured = {step: float(gan.compute_losses(images, labels, rng.StatelessSampler(3), step)['penalty'])
                for step in (0, 1, 3, 8)}
    single = float(every_step.compute_losses(images, labels, rng.StatelessSampler(3), 0)['penalty'])
    assert single > 0
    assert measured[0] == pytest.approx(4 * single, rel=1e-4) and measured[8] == pytest.approx(4 * single, rel=1e-4)
    assert measured[1] == measured[3] == 0.0


def test_lecam_term_and_its_moving_averages():
    lecam = penalties.LeCam()
    lecam.real_average.assign(0.2)
    lecam.fake_average.assign(-0.3)
    # mean relu(real - avg fake)^2 = (1.3^2 + 0) / 2; mean relu(avg real - fake)^2 = (0 + 2.2^2) / 2
    assert float(lecam.term(REAL, FAKE)) == pytest.approx(1.69 / 2 + 4.84 / 2, rel=1e-5)
    lecam.update(0.0, -0.75)
    assert float(lecam.real_average) == pytest.approx(0.99 * 0.2) and float(lecam.fake_average) == pytest.approx(
        0.99 * -0.3 + 0.01 * -0.75)


def test_every_model_takes_the_parts_it_is_given():
    images, labels = tf.random.normal([4, 28, 28, 1], seed=2), tf.constant([0, 1, 2, 3])
    for kind in ('dcgan', 'cgan', 'acgan', 'infogan', 'selfcond'):
        extra = {'clusters': 2, 'cluster_samples': 4} if kind == 'selfcond' else {}
        gan = build_gan(kind, image_shape=(28, 28, 1), num_classes=4, **TINY_WIDTHS, **extra, loss='hinge',
                        penalty='gradient', lecam_weight=0.5, augment='translation')
        metrics = gan.compute_losses(images, labels, rng.StatelessSampler(0))
        assert float(metrics['penalty']) > 0 and 'lecam' in metrics and 'augment_p' in metrics, kind
        assert gan.get_config()['loss'] == 'hinge' and gan.get_config()['penalty_weight'] == 10.0, kind
