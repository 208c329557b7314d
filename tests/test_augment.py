"""Differentiable augmentation: what each operation does to an image, determinism under the
sampler's seed, gradients through it, and the adaptive probability moving the right way, both
in isolation and on a discriminator that memorises a tiny dataset."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import MOMENTUM_ADAM, TINY_WIDTHS, synthetic_data

import tfgan2
from tfgan2 import TrainConfig, Trainer, augment, build_gan, rng

SIZE = 16


def always(operations):
    return augment.Augmentation(augment.parse_operations(operations), probability=1.0)


def dot_images(count=8):
    """Grey images (0) with one bright pixel (1) in the middle."""
    images = np.zeros([count, SIZE, SIZE, 1], np.float32)
    images[:, SIZE // 2, SIZE // 2] = 1.0
    return tf.constant(images)


def test_translation_moves_the_content_by_at_most_an_eighth():
    moved = always('translation').augment(dot_images(64), rng.StatelessSampler(0)).numpy()
    assert np.allclose(moved.sum(axis=(1, 2, 3)), 1.0)  # the dot is moved, not lost or blurred
    rows, columns = np.nonzero(moved[..., 0])[1:]
    shifts = np.abs(np.stack([rows, columns]) - SIZE // 2)
    assert shifts.max() == SIZE // 8 and len(np.unique(rows)) > 3  # up to 2 pixels, in varied amounts


def test_cutout_zeroes_a_square_of_half_the_side():
    cut = always('cutout').augment(tf.ones([64, SIZE, SIZE, 3]), rng.StatelessSampler(1)).numpy()
    zeroed = (cut == 0).all(axis=-1)
    areas = zeroed.sum(axis=(1, 2))
    assert areas.max() == (SIZE // 2) ** 2 and areas.min() > 0  # whole squares, or cut off at a border
    for mask in zeroed:
        rows, columns = np.nonzero(mask)
        assert mask[rows.min():rows.max() + 1, columns.min():columns.max() + 1].all()  # one rectangle


def test_color_changes_brightness_saturation_and_contrast_per_image():
    images = tf.random.uniform([32, SIZE, SIZE, 3], -0.5, 0.5, seed=3)
    coloured = always('color').augment(images, rng.StatelessSampler(2)).numpy()
    change = (coloured - images.numpy()).mean(axis=(1, 2, 3))
    assert np.std(change) > 0.1  # brightness moves each image differently, up to +-0.5


def test_probability_zero_is_the_identity_and_one_changes_every_image():
    images = tf.random.uniform([16, SIZE, SIZE, 3], -1, 1, seed=4)
    adaptive = augment.Augmentation(augment.OPERATIONS, target=0.6)  # starts at p = 0
    np.testing.assert_array_equal(adaptive.augment(images, rng.StatelessSampler(5)), images)
    changed = always('color,translation,cutout').augment(images, rng.StatelessSampler(5)).numpy()
    assert (np.abs(changed - images.numpy()).max(axis=(1, 2, 3)) > 0.05).all()


def test_the_same_seed_draws_the_same_augmentation_and_another_seed_another():
    images = tf.random.uniform([8, SIZE, SIZE, 3], -1, 1, seed=6)
    augmentation = always('color,translation,cutout')
    first, again, other = (augmentation.augment(images, rng.StatelessSampler(seed)) for seed in (7, 7, 8))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.numpy() - other.numpy()).max() > 0.1


def test_gradients_flow_through_every_operation():
    images = tf.random.uniform([4, SIZE, SIZE, 3], -1, 1, seed=9)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(always('color,translation,cutout').augment(images, rng.StatelessSampler(1)) ** 2)
    gradient = tape.gradient(total, images).numpy()
    assert np.isfinite(gradient).all() and (np.abs(gradient).sum(axis=(1, 2, 3)) > 0).all()


def test_adaptive_probability_follows_the_overfitting_signal():
    adaptive = augment.Augmentation(('translation',), target=0.6)
    adaptive.adapt(0.9, 1000.0)  # the discriminator is surer of real images than the target
    assert float(adaptive.probability) == pytest.approx(1000 / augment.ADAPT_IMAGES)
    adaptive.adapt(0.2, 500.0)
    assert float(adaptive.probability) == pytest.approx(500 / augment.ADAPT_IMAGES)
    adaptive.adapt(0.2, 10 * augment.ADAPT_IMAGES)
    assert float(adaptive.probability) == 0.0  # clipped at 0
    fixed = augment.Augmentation(('translation',), probability=1.0)
    fixed.adapt(0.0, 1000.0)
    assert float(fixed.probability) == 1.0


def test_bad_operations_are_refused_in_one_line():
    with pytest.raises(ValueError, match="augment='color,blur': list operations from color, translation, cutout"):
        build_gan('dcgan', image_shape=(28, 28, 1), augment='color,blur')
    assert augment.parse_operations('none') == () and augment.parse_operations(' color, cutout') == ('color', 'cutout')


def test_a_discriminator_memorising_a_tiny_dataset_raises_the_probability(tmp_path):
    """16 images seen a hundred times: the discriminator soon scores every real image as real,
    and the probability rises from 0. (The DCGAN paper's Adam: with beta_1 = 0 this tiny
    discriminator's bias swings between steps, and its sign on real images with it.)"""
    data = synthetic_data(count=16, num_classes=2)
    tf.keras.utils.set_random_seed(3)
    gan = build_gan('dcgan', data, **TINY_WIDTHS, dropout=0.0, augment='translation,cutout')
    trainer = Trainer(gan, str(tmp_path), TrainConfig(batch_size=16, verbose=False, seed=3, **MOMENTUM_ADAM))
    signs, probabilities = [], []
    for epoch in range(100):
        for images, labels in tfgan2.data.input_pipeline(data, 16, seed=3, epoch=epoch):
            metrics, applied = trainer.step_function.train_step(images, labels)
            signs.append(float(metrics['real_sign']))
            probabilities.append(float(metrics['augment_p']))
    assert np.mean(signs[-20:]) > 0.9 and probabilities[0] == 0.0
    assert probabilities[-1] > probabilities[50] > 0.005  # up by 16 / ADAPT_IMAGES on most steps


def test_the_probability_is_in_the_history_and_checkpoints(tmp_path):
    data = synthetic_data(count=64)
    fixed = build_gan('dcgan', data, **TINY_WIDTHS, augment='color', augment_target=0.0)
    trainer = Trainer(fixed, str(tmp_path / 'fixed'), TrainConfig(batch_size=32, verbose=False))
    trainer.fit(data, epochs=1)
    assert trainer.history[-1]['augment_p'] == 1.0  # fixed at 1: DiffAugment
    adaptive = build_gan('dcgan', data, **TINY_WIDTHS, augment='color')
    trainer = Trainer(adaptive, str(tmp_path / 'adaptive'), TrainConfig(batch_size=32, verbose=False))
    adaptive.augmentation.probability.assign(0.25)
    trainer.fit(data, epochs=1)
    restored = float(tfgan2.load_run(tmp_path / 'adaptive').augmentation.probability)
    moved = 2 * 64 / augment.ADAPT_IMAGES  # at most, in two steps
    assert restored == float(adaptive.augmentation.probability) == pytest.approx(0.25, abs=moved)


def test_auto_augments_small_data_only_and_records_what_it_chose(monkeypatch):
    small = synthetic_data(count=64)
    gan = build_gan('dcgan', small, **TINY_WIDTHS)
    assert gan.get_config()['augment'] == 'color,translation,cutout' and gan.augmentation is not None
    monkeypatch.setattr(augment, 'AUTO_BELOW', 64)  # the same data counts as large now
    assert build_gan('dcgan', small, **TINY_WIDTHS).get_config()['augment'] == 'none'
    assert build_gan('dcgan', small, **TINY_WIDTHS, augment='cutout').get_config()['augment'] == 'cutout'
    assert build_gan('dcgan', image_shape=(28, 28, 1), **TINY_WIDTHS).augmentation is None  # no data, no size
