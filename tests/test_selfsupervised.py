"""Offline quality without labels: the self-supervised encoder (deterministic, cached by source),
the nearest-neighbour figures and the memorisation check, floors at equal sample sizes, a ladder of
degraded real sets, InfoGAN's code R², and tfgan2-evaluate on an unlabeled InfoGAN run."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY_ENCODER, TINY_WIDTHS, synthetic_digits

from tfgan2 import TrainConfig, Trainer, build_gan, data, errors
from tfgan2.evaluation import codes, encoder, evaluate, neighbours

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, 'benchmarks'))
import degradations  # noqa: E402  (benchmarks/, not a package)

TINY_ENCODER = encoder.EncoderConfig(**TINY_ENCODER)
TINY_CODES = codes.CodeConfig(train_samples=600, test_samples=300, epochs=6, batch_size=32, feature_dim=16)


def unlabeled(images):
    """Unlabeled ImageData named 'synthetic' over uint8 images [N, H, W]."""
    return data.from_arrays(images, name='synthetic')


def test_nearest_distances_and_radii_match_brute_force(monkeypatch):
    monkeypatch.setattr(neighbours, 'CHUNK_ELEMENTS', 100)  # a few rows at a time
    rng_ = np.random.default_rng(0)
    a, b = rng_.normal(size=(200, 4)), rng_.normal(size=(30, 4))
    brute = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(neighbours.nearest_distance(a, b[:10], b[10:]), brute.min(axis=1), atol=1e-9)
    within = np.linalg.norm(b[:, None] - b[None], axis=-1) + np.diag(np.full(30, np.inf))
    np.testing.assert_allclose(neighbours.neighbour_radii(b, 3), np.sort(within, axis=1)[:, 2], atol=1e-9)


def test_precision_recall_density_coverage_separate_quality_from_variety():
    rng_ = np.random.default_rng(1)
    real = rng_.normal(size=(600, 3))
    reference = neighbours.ManifoldReference(real[:300])
    same = reference.figures(real[300:])
    assert same['precision'] > 0.8 and same['recall'] > 0.8 and same['coverage'] > 0.8
    assert same['density'] == pytest.approx(1.0, abs=0.25)
    # One corner of the real distribution: every image is realistic, few real ones are reached.
    corner = real[300:][np.all(real[300:] > 0.3, axis=1)]
    narrow = reference.figures(np.concatenate([corner, corner]))
    assert narrow['precision'] > 0.8 and narrow['recall'] < 0.3 and narrow['coverage'] < 0.3
    far = reference.figures(real[300:] + 10)
    assert far == {'precision': 0.0, 'recall': 0.0, 'density': 0.0, 'coverage': 0.0}


def test_copy_check_counts_images_closer_than_the_held_out_quantile():
    check = neighbours.CopyCheck(np.linspace(1, 2, 101), quantile=0.01)
    assert check.threshold == pytest.approx(1.01)
    assert check.share([0.0, 1.0, 1.01, 1.5]) == pytest.approx(0.75)


def test_resampled_interval_spans_the_spread_of_a_split_figure():
    pool = np.arange(100.0)[:, None]
    low, high = neighbours.resampled_interval(pool, (10, 50), lambda a, b: float(a.mean()), resamples=200)
    assert 25 < low < 45 < 55 < high < 75  # the mean of 10 of 0..99: sd about 9


@pytest.fixture(scope='module')
def digits():
    """(train images, test images, third images and labels) of the synthetic digits."""
    return synthetic_digits(400, seed=0)[0], synthetic_digits(400, seed=1)[0], synthetic_digits(400, seed=2)


def test_augment_is_a_function_of_its_seed(digits):
    images = tf.constant(digits[0][:8, ..., np.newaxis], tf.float32) / 127.5 - 1
    first, again = (encoder.augment(images, tf.constant([1, 2], tf.int64), TINY_ENCODER) for _ in range(2))
    other = encoder.augment(images, tf.constant([1, 3], tf.int64), TINY_ENCODER)
    assert first.shape == images.shape and float(tf.reduce_max(tf.abs(first))) <= 1.0
    np.testing.assert_array_equal(first, again)
    assert float(tf.reduce_mean(tf.abs(first - other))) > 0.05


def test_contrastive_loss_rewards_views_that_find_their_partner():
    partners = tf.constant(np.eye(4, 8)[[0, 1, 2, 3, 0, 1, 2, 3]], tf.float32)
    swapped = tf.constant(np.eye(4, 8)[[0, 1, 2, 3, 1, 0, 3, 2]], tf.float32)
    matched = float(encoder.contrastive_loss(partners, 0.1))
    # Each row's partner scores 1/0.1 against 0 for the six others and -1e9 for itself.
    assert matched == pytest.approx(-np.log(np.exp(10) / (np.exp(10) + 6)), rel=1e-4)
    assert float(encoder.contrastive_loss(swapped, 0.1)) > 10 * matched


def test_encoder_is_deterministic_and_cached_by_source(digits, tmp_path, monkeypatch):
    trainings = []
    train = encoder.train_encoder
    monkeypatch.setattr(encoder, 'train_encoder', lambda *args: trainings.append(args) or train(*args))
    images = digits[0][..., np.newaxis]
    features = []
    for global_seed in (1, 2):  # what ran before in the process must not change the encoder
        tf.random.set_seed(global_seed)
        trained = encoder.load_or_train('synthetic', images, str(tmp_path / str(global_seed)), TINY_ENCODER)
        features.append(trained.features(digits[1][:50, ..., np.newaxis]))
    np.testing.assert_array_equal(*features)
    assert features[0].shape == (50, 16)
    np.testing.assert_allclose(np.linalg.norm(features[0], axis=1), 1, rtol=1e-5)
    assert len(trainings) == 2
    cache = str(tmp_path / '1')
    reused = encoder.load_or_train('synthetic', images, cache, TINY_ENCODER)
    assert len(trainings) == 2 and reused.info['train_steps'] == 40
    np.testing.assert_allclose(reused.features(digits[1][:50, ..., np.newaxis]), features[0], atol=1e-6)
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1  # one pixel of other data
    encoder.load_or_train('synthetic', changed, cache, TINY_ENCODER)
    encoder.load_or_train('other', images, cache, TINY_ENCODER)
    assert len(trainings) == 4
    entries = sorted(tf.io.gfile.listdir(f'{cache}/encoders'))
    assert [entry.split('-')[0] for entry in entries] == ['other', 'synthetic', 'synthetic']
    with pytest.raises(errors.ConfigError, match='uint8'):
        encoder.load_or_train('synthetic', images.astype(np.float32), cache, TINY_ENCODER)


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('cache'))


@pytest.fixture(scope='module')
def evaluator(digits, cache_dir):
    """Unlabeled synthetic digits with a test split: real halves of 200, every sample size 200."""
    return evaluate.Evaluator(unlabeled(digits[0]), unlabeled(digits[1]), cache_dir=cache_dir,
                              encoder_config=TINY_ENCODER)


def from_images(images):
    """A generator that returns the given uint8 images [N, H, W] in turn, as floats in [-1, 1]."""
    images = images[..., np.newaxis].astype(np.float32) / 127.5 - 1
    returned = 0

    def generate(count, labels):
        nonlocal returned
        returned += count
        return images[returned - count:returned]
    return generate


def test_unlabeled_data_gets_the_selfsupervised_figures_beside_their_floors(evaluator, digits):
    assert evaluator.metric == 'selfsupervised' and evaluator.classifier is None and evaluator.inception is None
    real = evaluator.evaluate(from_images(digits[2][0][:200]))
    assert real.num_samples == 200 and real.selfsupervised_frechet_distance is None  # FD is the headline
    low, high = real.real_frechet_distance_interval
    assert low <= real.real_frechet_distance <= high
    assert real.frechet_distance < 2 * high
    assert real.precision > 0.6 and real.recall > 0.6 and real.copies_training_images is False
    assert real.precision == pytest.approx(real.real_precision, abs=0.15)
    assert set(real.scalars()) == {f'eval_{prefix}{name}' for prefix in ('', 'real_') for name in (
        'frechet_distance', 'kernel_distance', 'precision', 'recall', 'copy_share')}
    report = real.report()
    for row in ('selfsupervised features', 'over re-splits', 'precision', 'recall', 'near-copies'):
        assert row in report
    assert 'COPIES' not in report and 'classifier' not in report


def test_floors_are_measured_at_the_generated_sample_size(digits, evaluator, cache_dir):
    """FD is biased upwards on small samples: real images drawn 50 at a time score as real only
    against a floor measured on 50."""
    fifty = evaluate.Evaluator(unlabeled(digits[0]), unlabeled(digits[1]), num_samples=50,
                               cache_dir=cache_dir, encoder_config=TINY_ENCODER)
    assert fifty.num_samples == 50
    real = fifty.evaluate(from_images(digits[2][0]))
    assert fifty.real['frechet_distance'] > 1.5 * evaluator.real['frechet_distance']
    assert real.frechet_distance < real.real_frechet_distance_interval[1] * 1.5
    assert real.frechet_distance > 1.5 * evaluator.real['frechet_distance']


def test_a_ladder_of_degraded_real_sets_ranks_in_order(evaluator, digits):
    images, labels = digits[2]
    rng_ = np.random.default_rng(0)
    clean = images[:200, ..., np.newaxis]

    def measure(degraded):
        return evaluator.evaluate(from_images(degraded[..., 0]))

    ladder = [measure(x) for x in (clean, degradations.blur(clean, 1.0), degradations.blur(clean, 2.0))]
    assert [e.frechet_distance for e in ladder] == sorted(e.frechet_distance for e in ladder)
    noisy = [measure(x) for x in (clean, degradations.noise(clean, 30, rng_), degradations.noise(clean, 90, rng_))]
    assert [e.frechet_distance for e in noisy] == sorted(e.frechet_distance for e in noisy)
    half_the_classes = measure(degradations.without_classes(images[..., np.newaxis], labels, range(5), 200, rng_))
    assert half_the_classes.frechet_distance > 3 * ladder[0].frechet_distance
    assert half_the_classes.recall < 0.75 * ladder[0].recall
    repeated = measure(degradations.repeated(clean, 0.05, rng_))
    assert repeated.recall < 0.5 * ladder[0].recall and repeated.coverage < 0.5 * ladder[0].coverage


def test_copy_flag_fires_for_training_images_not_for_held_out_ones(evaluator, digits):
    held_out = evaluator.evaluate(from_images(digits[2][0][:200]))
    assert held_out.copy_share < neighbours.COPY_FLAG_SHARE and not held_out.copies_training_images
    assert held_out.real_copy_share < neighbours.COPY_FLAG_SHARE
    copying = evaluator.evaluate(from_images(digits[0][:200]))
    assert copying.copy_share == 1.0 and copying.copies_training_images
    assert 'COPIES TRAINING IMAGES' in copying.report() and 'COPIES TRAINING IMAGES' in copying.summary()
    tenth = evaluator.evaluate(from_images(degradations.with_copies(digits[2][0][:200], digits[0], 0.1,
                                                                   np.random.default_rng(0))))
    assert tenth.copy_share == pytest.approx(0.1 + held_out.copy_share, abs=0.02) and tenth.copies_training_images


def test_without_a_test_split_copies_of_the_held_out_images_count_too(digits, tmp_path):
    own = unlabeled(digits[0])
    evaluator = evaluate.Evaluator(own, cache_dir=str(tmp_path), encoder_config=TINY_ENCODER)
    (held_out, _), = evaluate.sample_arrays(own, [80])  # what the evaluator held out: the real halves
    assert evaluator.encoder.info['train_examples'] == 320
    assert evaluator.evaluate(from_images(held_out[..., 0])).copy_share == 1.0
    fresh = evaluator.evaluate(from_images(digits[2][0][:40]))
    assert not fresh.copies_training_images and fresh.real_copy_share < neighbours.COPY_FLAG_SHARE


def test_labelled_data_gets_the_selfsupervised_figures_beside_the_classifiers(digits, tmp_path):
    from tfgan2.evaluation import classifier
    images, labels = synthetic_digits(400, seed=0)
    labelled = data.from_arrays(images[..., np.newaxis], labels, name='synthetic')
    evaluator = evaluate.Evaluator(labelled, num_samples=40, cache_dir=str(tmp_path), encoder_config=TINY_ENCODER,
                                   classifier_config=classifier.ClassifierConfig(epochs=2, feature_dim=16))
    evaluation = evaluator.evaluate(from_images(digits[2][0]))
    assert evaluation.metric == 'classifier' and evaluation.classifier_score is not None
    assert evaluation.selfsupervised_frechet_distance is not None and evaluation.precision is not None
    assert evaluation.kernel_distance is None and evaluation.selfsupervised_kernel_distance is not None
    assert len(evaluation.real_selfsupervised_frechet_distance_interval) == 2
    scalars = evaluation.scalars()
    assert scalars['eval_selfsupervised_frechet_distance'] == evaluation.selfsupervised_frechet_distance
    assert 'eval_real_recall' in scalars and 'eval_class_coverage' in scalars
    report = evaluation.report()
    assert "In the self-supervised encoder's features:" in report and 'classifier score' in report
    without = evaluate.Evaluator(labelled, num_samples=40, cache_dir=str(tmp_path), selfsupervised=False,
                                 classifier_config=classifier.ClassifierConfig(epochs=2, feature_dim=16))
    assert without.encoder is None and without.evaluate(from_images(digits[2][0])).precision is None


class ToyInfoGAN:
    """Stands in for a trained InfoGAN: 16x16 images of noise whose left half is as bright as code
    1 says and whose right half as code 2 says, or, with `ignores_codes`, pure noise."""
    kind = 'infogan'

    def __init__(self, ignores_codes=False):
        self.ignores_codes = ignores_codes

    def sample_latent(self, sampler, batch_size, labels=None):
        return {'noise': sampler.normal([batch_size, 16, 16, 1]), 'code': sampler.uniform([batch_size, 2], -1.0, 1.0)}

    def generate(self, latent):
        noise = 0.3 * latent['noise']
        if self.ignores_codes:
            return tf.clip_by_value(noise, -1, 1)
        halves = tf.repeat(latent['code'][:, tf.newaxis, :, tf.newaxis], 8, axis=2)
        return tf.clip_by_value(0.6 * tf.broadcast_to(halves, [tf.shape(noise)[0], 16, 16, 1]) + noise, -1, 1)


def test_code_r2_reads_codes_that_steer_the_images_and_nothing_where_they_do_not():
    images, coded = codes.coded_samples(ToyInfoGAN(), 10, seed=0)
    assert images.dtype == np.uint8 and images.shape == (10, 16, 16, 1) and coded.shape == (10, 2)
    again = codes.coded_samples(ToyInfoGAN(), 10, seed=0)
    np.testing.assert_array_equal(images, again[0])
    r2, control = codes.code_r_squared(ToyInfoGAN(), TINY_CODES)
    assert np.all(r2 > 0.8) and np.all(np.abs(control) < 0.1)
    r2, control = codes.code_r_squared(ToyInfoGAN(ignores_codes=True), TINY_CODES)
    assert np.all(np.abs(r2) < 0.1) and np.all(np.abs(control) < 0.1)
    with pytest.raises(errors.ConfigError, match='InfoGAN'):
        codes.code_r_squared(build_gan('dcgan', unlabeled(synthetic_digits(8)[0]), **TINY_WIDTHS))


def test_code_r2_reaches_history_and_the_report():
    evaluation = evaluate.Evaluation(num_samples=10, metric='selfsupervised', frechet_distance=2.0,
                                     real_frechet_distance=1.0, code_r2=[0.91, 0.42], code_r2_shuffled=[0.001, -0.003])
    assert evaluation.scalars() == {'eval_frechet_distance': 2.0, 'eval_real_frechet_distance': 1.0,
                                    'eval_code_r2_1': 0.91, 'eval_code_r2_2': 0.42}
    report = evaluation.report()
    assert '2.0x the floor' in report and 'code 2' in report and 'shuffled-code control -0.003' in report
    assert 'code R² 0.91 / 0.42 (shuffled 0.00 / -0.00)' in evaluation.summary()


def test_r_squared_matches_hand_numbers():
    targets = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 3.0]])
    np.testing.assert_allclose(codes.r_squared(targets, targets), [1, 1])
    np.testing.assert_allclose(codes.r_squared(np.full_like(targets, 2.0), targets)[0], 0)
    np.testing.assert_allclose(codes.r_squared(np.array([[1.0], [2.0], [4.0]]), targets[:, :1]), [0.5])


def test_cli_reports_selfsupervised_figures_and_code_r2_for_an_unlabeled_infogan_run(digits, tmp_path):
    images = digits[0][..., np.newaxis]
    np.save(tmp_path / 'shapes.npy', images)
    own = data.load(str(tmp_path / 'shapes.npy'))
    gan = build_gan('infogan', own, **TINY_WIDTHS)
    Trainer(gan, str(tmp_path / 'run'), TrainConfig(batch_size=64, steps_per_epoch=2, verbose=False)).fit(own, epochs=1)
    result = subprocess.run(
        [sys.executable, '-m', 'tfgan2.cli.evaluate', f'--model_dir={tmp_path / "run"}',  # reads the recorded .npy
         '--num_samples=40', '--code_samples=200'],
        capture_output=True, text=True, timeout=600, env={**os.environ, 'TFGAN2_CACHE': str(tmp_path / 'cache')})
    assert result.returncode == 0, result.stderr[-3000:]
    for row in ('selfsupervised features', 'Frechet distance', 'kernel distance', 'precision', 'recall',
                'near-copies', 'code 1', 'code 2', 'shuffled-code control'):
        assert row in result.stdout
    assert 'Training the shapes evaluation encoder' in result.stderr
    assert os.listdir(tmp_path / 'cache') == ['encoders']
