"""Evaluation: the metric formulas, the cached classifier, the Evaluator on real and collapsed
generators, per-epoch figures in training, and the tfgan2-evaluate command."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_WIDTHS, make_idx_dir
from tfgan2 import artifacts, data, export, models
from tfgan2.evaluation import classifier, evaluate, metrics
from tfgan2.train import TrainConfig, Trainer

TINY_CLASSIFIER = classifier.ClassifierConfig(epochs=4, batch_size=32, feature_dim=16)


def correlated_features(count, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, dim)) @ rng.normal(size=(dim, dim)) + rng.normal(size=dim)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_noise():
    features = correlated_features(2000)
    assert metrics.frechet_distance(features, features) == pytest.approx(0, abs=1e-6)
    rng = np.random.default_rng(1)
    distances = [metrics.frechet_distance(features, features + rng.normal(scale=s, size=features.shape))
                 for s in (0.1, 0.5, 1.0, 2.0)]
    assert distances[0] > 0 and all(a < b for a, b in zip(distances, distances[1:]))


def test_frechet_distance_matches_the_closed_form():
    # Diagonal covariances: |mu_a - mu_b|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 1 + 4 + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert metrics.frechet_distance_from_statistics(mean_a, np.diag(var_a), mean_b,
                                                    np.diag(var_b)) == pytest.approx(expected)
    # Non-commuting covariances: tr((A B)^1/2) from the (real, positive) eigenvalues of A @ B.
    cov_a, cov_b = np.cov(correlated_features(500, 4, 2).T), np.cov(correlated_features(500, 4, 3).T)
    trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real))
    expected = np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    assert metrics.frechet_distance_from_statistics(np.zeros(4), cov_a, np.zeros(4),
                                                    cov_b) == pytest.approx(expected, rel=1e-6)


def test_classifier_score_is_one_for_constant_and_k_for_uniform_confident_predictions():
    constant = np.tile([0.3, -1.0, 2.0, 0.0], (100, 1))
    assert metrics.classifier_score(constant) == pytest.approx(1.0)
    confident_uniform = 50.0 * np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(confident_uniform) == pytest.approx(10.0, rel=1e-6)
    confident_two_classes = 50.0 * np.eye(10)[np.arange(1000) % 2]
    assert metrics.classifier_score(confident_two_classes) == pytest.approx(2.0, rel=1e-6)


def test_classifier_score_splits_into_coverage_minus_ambiguity():
    confident_uniform = 50.0 * np.eye(4)[np.arange(400) % 4]
    assert metrics.classifier_score_parts(confident_uniform) == pytest.approx((np.log(4), 0), abs=1e-9)
    undecided = np.zeros((100, 4))  # every image reads as every class alike
    assert metrics.classifier_score_parts(undecided) == pytest.approx((np.log(4), np.log(4)))
    one_class = 50.0 * np.eye(4)[np.zeros(100, int)]
    assert metrics.classifier_score_parts(one_class) == pytest.approx((0, 0), abs=1e-9)
    logits = np.random.default_rng(0).normal(scale=3, size=(500, 10))
    coverage, ambiguity = metrics.classifier_score_parts(logits)
    assert np.log(metrics.classifier_score(logits)) == pytest.approx(coverage - ambiguity)
    assert 0 < ambiguity < coverage < np.log(10)


def test_class_histogram_and_its_total_variation_distance():
    shares = metrics.class_shares([0, 0, 1, 2], num_classes=4)
    np.testing.assert_allclose(shares, [0.5, 0.25, 0.25, 0])
    even = metrics.class_shares([0, 1, 2, 3], num_classes=4)
    assert metrics.total_variation_distance(shares, even) == pytest.approx(0.25)
    assert metrics.total_variation_distance(even, even) == 0
    assert metrics.total_variation_distance([1, 0], [0, 1]) == pytest.approx(1)


def test_kernel_distance_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(800, 6))
    same = metrics.kernel_distance(features, features, num_subsets=10, subset_size=200)
    halves = metrics.kernel_distance(features[:400], features[400:], num_subsets=10, subset_size=200)
    shifted = [metrics.kernel_distance(features[:400], features[400:] + shift, num_subsets=10,
                                       subset_size=200) for shift in (0.5, 1.0, 2.0)]
    assert abs(same) < 0.05 * shifted[0] and abs(halves) < 0.05 * shifted[0]
    assert shifted[0] < shifted[1] < shifted[2]


def test_kernel_distance_matches_the_unbiased_mmd_written_out():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 3)), rng.normal(loc=0.5, size=(5, 3))
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    pairs = lambda s: sum(k(s[i], s[j]) for i in range(5) for j in range(5) if i != j) / 20  # noqa: E731
    expected = pairs(x) + pairs(y) - 2 * sum(k(a, b) for a in x for b in y) / 25
    # Subsets as large as the sets are whole sets in another order, which MMD does not see.
    assert metrics.kernel_distance(x, y, num_subsets=3) == pytest.approx(expected)
    with pytest.raises(ValueError, match='at least two rows'):
        metrics.kernel_distance(x[:1], y)


def test_label_accuracy_matches_a_hand_count():
    requested = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 1, 0, 1, 1, 2, 0, 0, 0])
    overall, per_class = metrics.label_accuracy(predicted, requested, num_classes=4)
    assert overall == pytest.approx(5 / 9)
    np.testing.assert_allclose(per_class[:3], [2 / 3, 1.0, 1 / 4])
    assert np.isnan(per_class[3])  # never requested
    with pytest.raises(ValueError, match='same length'):
        metrics.label_accuracy(predicted[:3], requested, 4)


def test_collapse_flags_dropped_and_squeezed_classes():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 5))
    real_classes = np.arange(300) % 3
    fake = np.concatenate([0.3 * rng.normal(size=(100, 5)),   # class 0: as varied, only dimmer
                           np.tile(rng.normal(size=5), (95, 1)),  # class 1: one image repeated
                           rng.normal(size=(5, 5))])           # class 2: almost never drawn
    fake_classes = np.repeat([0, 1, 2], [100, 95, 5])
    share, diversity = metrics.class_diversity(fake, fake_classes, 3)
    real_share, real_diversity = metrics.class_diversity(real, real_classes, 3)
    np.testing.assert_allclose(share, [0.5, 0.475, 0.025])
    assert diversity[1] == pytest.approx(0, abs=1e-6)
    assert diversity[0] == pytest.approx(real_diversity[0], rel=0.1)
    assert metrics.collapsed_classes(share, diversity, real_share, real_diversity) == {
        1: metrics.LOW_DIVERSITY, 2: metrics.DROPPED}


def test_collapse_flags_a_class_at_half_of_real_diversity():
    even = [0.25] * 4
    flagged = metrics.collapsed_classes(even, [0.5, 0.59, 0.6, 1.2], even, [1.0] * 4)
    assert flagged == {0: metrics.LOW_DIVERSITY, 1: metrics.LOW_DIVERSITY}


@pytest.fixture(scope='module')
def eval_data(tmp_path_factory):
    """Synthetic IDX data with enough test images for per-class figures."""
    return make_idx_dir(tmp_path_factory.mktemp('eval_idx'), train_count=400, test_count=400)


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('cache'))


def test_classifier_is_trained_once_then_reused_from_the_cache(eval_data, tmp_path, monkeypatch):
    trainings = []
    train = classifier.train_classifier
    monkeypatch.setattr(classifier, 'train_classifier',
                        lambda *args: trainings.append(args) or train(*args))
    first = classifier.load_or_train('synthetic', eval_data, str(tmp_path), TINY_CLASSIFIER, verbose=False)
    second = classifier.load_or_train('synthetic', eval_data, str(tmp_path), TINY_CLASSIFIER, verbose=False)
    assert len(trainings) == 1
    assert first.test_accuracy > 0.9 and second.info == first.info
    images, _ = classifier.dataset_arrays(data.load_dataset('synthetic', eval_data, 'test'))
    np.testing.assert_allclose(first.features_and_logits(images[:20])[1],
                               second.features_and_logits(images[:20])[1], rtol=1e-5, atol=1e-5)
    assert [n for n in os.listdir(tmp_path / 'classifiers')] == [f'synthetic-{first.info["fingerprint"]}']
    # Another recipe is another classifier, not the cached one.
    classifier.load_or_train('synthetic', eval_data, str(tmp_path),
                             classifier.ClassifierConfig(epochs=1, feature_dim=8), verbose=False)
    assert len(trainings) == 2


def test_classifier_does_not_depend_on_the_global_seed(eval_data, tmp_path):
    """A cached classifier is shared by every process that evaluates, so what ran before it (a
    trainer that set TensorFlow's global seed, say) must not change it."""
    trained = []
    for global_seed in (1, 2):
        tf.random.set_seed(global_seed)
        trained.append(classifier.load_or_train('synthetic', eval_data, str(tmp_path / str(global_seed)),
                                                TINY_CLASSIFIER, verbose=False))
    images, _ = classifier.dataset_arrays(data.load_dataset('synthetic', eval_data, 'test'))
    assert trained[0].test_accuracy == trained[1].test_accuracy
    np.testing.assert_array_equal(trained[0].features_and_logits(images[:50])[1],
                                  trained[1].features_and_logits(images[:50])[1])


@pytest.fixture(scope='module')
def evaluator(eval_data, cache_dir):
    return evaluate.Evaluator('synthetic', eval_data, cache_dir=cache_dir,
                              classifier_config=TINY_CLASSIFIER, verbose=False)


def test_evaluator_scores_real_images_near_the_floor_and_a_constant_image_as_collapsed(eval_data, evaluator):
    train_images, train_labels = classifier.dataset_arrays(data.load_dataset('synthetic', eval_data))
    rng = np.random.default_rng(0)
    real = evaluator.evaluate(lambda count, labels: train_images[rng.integers(0, 400, count)])
    assert real.num_samples == 200
    assert real.frechet_distance < 3 * real.real_frechet_distance
    assert real.classifier_score > 0.8 * real.real_classifier_score
    assert real.collapsed_classes == {} and real.label_accuracy is None

    constant = evaluator.evaluate(lambda count, labels: np.repeat(train_images[:1], count, axis=0))
    assert constant.frechet_distance > 10 * real.frechet_distance
    assert constant.classifier_score == pytest.approx(1.0)
    assert len(constant.collapsed_classes) == 10

    # Draws class `label` when asked for it, except class 3, drawn as class 0.
    by_class = {c: train_images[train_labels == c] for c in range(10)}
    conditional = evaluator.evaluate(
        lambda count, labels: np.stack([by_class[0 if c == 3 else c][i % 5] for i, c in enumerate(labels)]),
        class_conditional=True)
    assert conditional.label_accuracy == pytest.approx(
        1 - np.mean(np.arange(200) % 10 == 3), abs=0.03)
    assert conditional.label_accuracy_per_class[3] < 0.1
    assert conditional.collapsed_classes.get('3') == metrics.DROPPED
    assert 'COLLAPSED (dropped)' in conditional.report()


def test_real_figures_use_as_many_images_as_each_evaluation_generates(eval_data, cache_dir, evaluator):
    # FD is biased upwards on small samples: a floor from more real images than the generated
    # set would flatter it. 50 images per side give a higher floor than the full halves' 200.
    small = evaluate.Evaluator('synthetic', eval_data, num_samples=50, cache_dir=cache_dir,
                               classifier_config=TINY_CLASSIFIER, verbose=False)
    assert evaluator.num_samples == 200 and small.num_samples == 50
    assert small.real['frechet_distance'] > 1.5 * evaluator.real['frechet_distance']


def test_evaluator_rejects_images_of_another_shape(evaluator):
    with pytest.raises(ValueError, match='shape'):
        evaluator.evaluate(lambda count, labels: np.zeros([count, 32, 32, 3], np.float32))


@pytest.fixture(scope='module')
def cgan_run(eval_data, evaluator, tmp_path_factory):
    """A tiny CGAN trained for 3 epochs with quality figures every second epoch: (dir, history)."""
    model_dir = tmp_path_factory.mktemp('cgan_run')
    info = data.load_dataset('synthetic', eval_data)
    tf.keras.utils.set_random_seed(0)
    gan = models.build_gan('cgan', info.image_shape, info.num_classes, **TINY_WIDTHS)
    config = TrainConfig(model_dir=str(model_dir), epochs=3, batch_size=64, steps_per_epoch=2, verbose=False)
    history = Trainer(gan, config).fit(info, evaluate.epoch_hook(evaluator, gan, every=2, verbose=False))
    return model_dir, history


def test_epoch_hook_records_figures_every_n_epochs(cgan_run):
    model_dir, history = cgan_run
    assert ['eval_label_accuracy' in row for row in history] == [False, True, False]
    saved = artifacts.read_history(model_dir / 'history.csv')
    assert saved[1]['eval_frechet_distance'] == pytest.approx(history[1]['eval_frechet_distance'])
    assert 'eval_frechet_distance' not in saved[0] and 'eval_frechet_distance' not in saved[2]
    assert 0 <= saved[1]['eval_label_accuracy'] <= 1
    assert (model_dir / 'losses.png').stat().st_size > 0


def cli(command, *args, cache_dir):
    return subprocess.run([sys.executable, '-m', f'tfgan2.cli.{command}', *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, 'TFGAN2_CACHE': cache_dir})


def test_cli_trains_with_eval_every_then_evaluates_the_run_and_its_export(eval_data, tmp_path):
    cache, model_dir = str(tmp_path / 'cache'), tmp_path / 'run'
    trained = cli('train', '--model=cgan', f'--data_dir={eval_data}', f'--model_dir={model_dir}',
                  '--epochs=1', '--steps_per_epoch=2', '--eval_every=1', '--noise_dim=8',
                  '--generator_widths=16,8', '--discriminator_widths=8,16', cache_dir=cache)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert 'Epoch 1 quality: FD' in trained.stdout
    assert 'eval_label_accuracy' in artifacts.read_history(model_dir / 'history.csv')[0]

    run = cli('evaluate', f'--model_dir={model_dir}', f'--data_dir={eval_data}', '--num_samples=100',
              f'--output={tmp_path / "run.json"}', cache_dir=cache)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'label accuracy' in run.stdout and 'Training the' not in run.stdout  # cached classifier
    assert json.loads((tmp_path / 'run.json').read_text())['num_samples'] == 100

    export.export_generator(models.load_gan(str(model_dir)), str(tmp_path / 'exports'), 'cgan')
    exported = cli('evaluate', f'--saved_model={tmp_path / "exports" / "cgan"}', '--dataset=fashion_mnist',
                   f'--data_dir={eval_data}', '--num_samples=100', cache_dir=cache)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert 'label accuracy' in exported.stdout
    # One classifier, trained by the first command (the run's dataset name, with --data_dir's data).
    assert [name.split('-')[0] for name in os.listdir(os.path.join(cache, 'classifiers'))] == ['fashion_mnist']

    missing_dataset = cli('evaluate', f'--saved_model={tmp_path / "exports" / "cgan"}', cache_dir=cache)
    assert missing_dataset.returncode != 0
    assert missing_dataset.stderr.strip().splitlines()[-1].startswith('error: --saved_model needs --dataset')
