"""Evaluation: the metric formulas, sampling the data, the cached classifier, the Evaluator on real
and collapsed generators, per-epoch figures in training, and the tfgan2-evaluate command."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import PATIENCE_S, TINY_ENCODER, TINY_WIDTHS, make_idx_dir, synthetic_digits

from tfgan2 import TrainConfig, Trainer, artifacts, build_gan, data, export, load_run
from tfgan2.evaluation import classifier, encoder, evaluate, metrics

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


def test_frechet_distance_to_a_fixed_reference_is_the_same_distance_both_ways():
    features = correlated_features(300, seed=0)
    reference = metrics.FrechetReference(features)
    for count in (200, 4):  # more rows than dimensions (6), and fewer
        other = correlated_features(count, seed=1)
        assert reference.distance(other) == pytest.approx(metrics.frechet_distance(other, features), rel=1e-6)
        assert metrics.frechet_distance(other, features) == pytest.approx(
            metrics.frechet_distance(features, other), rel=1e-6)


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


def image_data(images, labels, num_classes=10, name='synthetic'):
    """An ImageData over uint8 arrays, as tfgan2.data builds one from arrays."""
    images = np.asarray(images)
    images = images[..., np.newaxis] if images.ndim == 3 else images
    return data.ImageData(
        name=name, source='arrays',
        elements=tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, np.int32))),
        image_shape=images.shape[1:], num_examples=len(images), num_classes=num_classes,
        class_names=tuple(str(c) for c in range(num_classes)) if num_classes else None)


@pytest.fixture(scope='module')
def train_data():
    return image_data(*synthetic_digits(400, seed=0))


@pytest.fixture(scope='module')
def test_data():
    return image_data(*synthetic_digits(400, seed=1))


def test_samples_are_disjoint_bounded_in_data_order_and_independent_of_the_global_seed():
    indexed = image_data(np.zeros((100, 4, 4, 1), np.uint8), np.arange(100), num_classes=100)
    samples = []
    for global_seed in (1, 2):
        tf.random.set_seed(global_seed)
        samples.append(evaluate.sample_arrays(indexed, [10, 30]))
    (first_images, first), (_, second) = samples[0]
    assert first_images.shape == (10, 4, 4, 1) and first_images.dtype == np.uint8
    assert len(first) == 10 and len(second) == 30 and not set(first) & set(second)
    assert list(first) == sorted(first) and list(second) == sorted(second)
    np.testing.assert_array_equal(first, samples[1][0][1])
    assert [len(labels) for _, labels in evaluate.sample_arrays(indexed, [90, 30])] == [90, 10]
    floats = data.ImageData('floats', 'arrays', tf.data.Dataset.from_tensor_slices(
        (np.zeros((4, 4, 4, 1), np.float32), np.zeros(4, np.int32))), (4, 4, 1), 4, 1, ('0',))
    with pytest.raises(ValueError, match='uint8'):
        evaluate.sample_arrays(floats, [2])


TINY_CLASSIFIER = classifier.ClassifierConfig(epochs=4, batch_size=32, feature_dim=16)


def test_classifier_is_trained_once_then_reused_from_a_gfile_cache(train_data, test_data, monkeypatch):
    trainings = []
    train = classifier.train_classifier
    monkeypatch.setattr(classifier, 'train_classifier',
                        lambda *args: trainings.append(args) or train(*args))
    cache = 'ram://test_classifier_cache'
    (images, labels), = evaluate.sample_arrays(train_data, [400])
    first = classifier.load_or_train('synthetic', images, labels, 10, cache, TINY_CLASSIFIER)
    second = classifier.load_or_train('synthetic', images, labels, 10, cache, TINY_CLASSIFIER)
    assert len(trainings) == 1 and second.info == first.info
    (test_images, test_labels), = evaluate.sample_arrays(test_data, [100])
    _, logits = first.features_and_logits(test_images)
    assert np.mean(logits.argmax(-1) == test_labels) > 0.9
    np.testing.assert_allclose(logits, second.features_and_logits(test_images)[1], rtol=1e-5, atol=1e-5)
    assert tf.io.gfile.listdir(f'{cache}/classifiers') == [f'synthetic-{first.info["fingerprint"]}']
    # Another recipe is another classifier, not the cached one.
    classifier.load_or_train('synthetic', images, labels, 10, cache,
                             classifier.ClassifierConfig(epochs=1, feature_dim=8))
    assert len(trainings) == 2


def test_classifier_does_not_depend_on_the_global_seed(train_data, test_data, tmp_path):
    """A cached classifier is shared by every process that evaluates, so what ran before it (a
    trainer that set TensorFlow's global seed, say) must not change it."""
    (images, labels), = evaluate.sample_arrays(train_data, [400])
    (test_images, _), = evaluate.sample_arrays(test_data, [50])
    logits = []
    for global_seed in (1, 2):
        tf.random.set_seed(global_seed)
        trained = classifier.load_or_train('synthetic', images, labels, 10, str(tmp_path / str(global_seed)),
                                           TINY_CLASSIFIER)
        logits.append(trained.features_and_logits(test_images)[1])
    np.testing.assert_array_equal(*logits)


def test_cache_refuses_names_that_are_not_plain_identifiers(tmp_path, monkeypatch):
    """A run folder is data: a dataset name from its gan.json never becomes a path unchecked."""
    monkeypatch.setattr(classifier, 'train_classifier', lambda *args: pytest.fail('trained'))
    images, labels = np.zeros((8, 4, 4, 1), np.uint8), np.zeros(8, np.int32)
    for name in ('../../elsewhere', '/abs', '.hidden', 'a/b', '', 'x' * 65, None):
        with pytest.raises(ValueError, match='cannot name data'):
            classifier.load_or_train(name, images, labels, 2, str(tmp_path), TINY_CLASSIFIER)


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('cache'))


@pytest.fixture(scope='module')
def evaluator(train_data, test_data, cache_dir):
    return evaluate.Evaluator(train_data, test_data, cache_dir=cache_dir, classifier_config=TINY_CLASSIFIER,
                              encoder_config=encoder.EncoderConfig(**TINY_ENCODER))


@pytest.fixture(scope='module')
def train_images(train_data):
    """All of train_data as (uint8 images, labels)."""
    return evaluate.sample_arrays(train_data, [400])[0]


def test_evaluator_scores_real_images_near_the_floor_and_a_constant_image_as_collapsed(train_images,
                                                                                      evaluator):
    images, labels = train_images
    rng = np.random.default_rng(0)
    real = evaluator.evaluate(lambda count, _: images[rng.integers(0, 400, count)])
    assert real.num_samples == 200 and real.metric == 'classifier'
    assert evaluator.classifier_test_accuracy > 0.9 and real.classifier_test_accuracy > 0.9
    assert real.frechet_distance < 3 * real.real_frechet_distance
    assert real.classifier_score > 0.8 * real.real_classifier_score
    assert real.class_coverage == pytest.approx(real.real_class_coverage, abs=0.1)
    assert real.class_share_distance < 0.2 and real.real_class_share_distance < 0.2
    assert real.collapsed_classes == {} and real.label_accuracy is None and real.kernel_distance is None

    constant = evaluator.evaluate(lambda count, _: np.repeat(images[:1], count, axis=0))
    assert constant.frechet_distance > 10 * real.frechet_distance
    assert constant.classifier_score == pytest.approx(1.0)
    assert constant.class_coverage == pytest.approx(constant.class_ambiguity)  # one prediction, repeated
    assert constant.class_share_distance > 0.8
    assert len(constant.collapsed_classes) == 10

    # Draws class `label` when asked for it, except class 3, drawn as class 0.
    by_class = {c: images[labels == c] for c in range(10)}
    conditional = evaluator.evaluate(
        lambda count, labels: np.stack([by_class[0 if c == 3 else c][i % 5] for i, c in enumerate(labels)]),
        class_conditional=True)
    assert conditional.label_accuracy == pytest.approx(1 - np.mean(np.arange(200) % 10 == 3), abs=0.03)
    assert conditional.label_accuracy_per_class[3] < 0.1
    assert conditional.collapsed_classes.get('3') == metrics.DROPPED
    assert 'COLLAPSED (dropped)' in conditional.report()


def test_evaluation_figures_reach_scalars_summary_report_and_json(train_images, evaluator):
    evaluation = evaluator.evaluate(lambda count, _: train_images[0][:count])
    scalars = evaluation.scalars()
    for name in ('frechet_distance', 'classifier_score', 'class_coverage', 'class_ambiguity',
                 'class_share_distance'):
        assert scalars[f'eval_{name}'] == getattr(evaluation, name)
        assert scalars[f'eval_real_{name}'] == getattr(evaluation, f'real_{name}')
    assert scalars['eval_collapsed_classes'] == 0 and 'eval_kernel_distance' not in scalars
    assert np.log(evaluation.classifier_score) == pytest.approx(
        evaluation.class_coverage - evaluation.class_ambiguity)
    assert 'coverage' in evaluation.summary() and 'class mix off by' in evaluation.summary()
    report = evaluation.report()
    for row in ('Frechet distance', 'coverage', 'ambiguity', 'class mix distance', 'collapsed classes'):
        assert row in report
    evaluation.save_json('ram://evaluation/figures.json')
    with tf.io.gfile.GFile('ram://evaluation/figures.json') as f:
        saved = json.load(f)
    assert saved['class_share_distance'] == evaluation.class_share_distance
    assert saved['kernel_distance'] is None and len(saved['class_share']) == 10


def test_real_figures_use_as_many_images_as_each_evaluation_generates(train_data, test_data, cache_dir,
                                                                     evaluator):
    # FD is biased upwards on small samples: a floor from more real images than the generated
    # set would flatter it. 50 images per side give a higher floor than the full halves' 200.
    small = evaluate.Evaluator(train_data, test_data, num_samples=50, cache_dir=cache_dir,
                               classifier_config=TINY_CLASSIFIER, selfsupervised=False)
    assert evaluator.num_samples == 200 and small.num_samples == 50
    assert small.real['frechet_distance'] > 1.5 * evaluator.real['frechet_distance']


def test_without_test_data_a_part_of_the_data_is_held_out_from_the_classifier(train_data, cache_dir):
    held_out = evaluate.Evaluator(train_data, cache_dir=cache_dir, classifier_config=TINY_CLASSIFIER,
                                  selfsupervised=False)
    # A fifth (80 images) for the real figures, in halves of 40; the classifier never saw them.
    assert held_out.num_samples == 40
    assert held_out.classifier.info['train_examples'] == 320
    _, train = evaluate.sample_arrays(train_data, [80, TINY_CLASSIFIER.max_train_examples])
    assert held_out.classifier.info['fingerprint'] == classifier.fingerprint(*train, 10, TINY_CLASSIFIER)
    assert held_out.classifier_test_accuracy > 0.9


def test_evaluator_refuses_mismatched_inputs(train_data, evaluator):
    with pytest.raises(ValueError, match='shape'):
        evaluator.evaluate(lambda count, labels: np.zeros([count, 32, 32, 3], np.float32))
    unlabeled = image_data(np.zeros((40, 28, 28, 1), np.uint8), np.full(40, -1), num_classes=0)
    with pytest.raises(ValueError, match="metric='classifier' needs labeled data"):
        evaluate.Evaluator(unlabeled, metric='classifier')
    with pytest.raises(ValueError, match="metric='fid' is unknown"):
        evaluate.Evaluator(train_data, metric='fid')
    with pytest.raises(ValueError, match='does not match'):
        evaluate.Evaluator(train_data, unlabeled)


@pytest.fixture(scope='module')
def cgan_run(evaluator, tmp_path_factory):
    """A tiny CGAN trained for 3 epochs with quality figures every second epoch: (dir, history)."""
    model_dir = tmp_path_factory.mktemp('cgan_run')
    train = data.load(make_idx_dir(tmp_path_factory.mktemp('idx'), 400, 400))
    tf.keras.utils.set_random_seed(0)
    gan = build_gan('cgan', train, **TINY_WIDTHS)
    trainer = Trainer(gan, str(model_dir), TrainConfig(batch_size=64, steps_per_epoch=2, verbose=False))
    trainer.fit(train, epochs=3, callbacks=[evaluate.EvaluationCallback(evaluator, every=2)])
    return model_dir, trainer.history


def test_evaluation_callback_records_figures_every_n_epochs(cgan_run):
    model_dir, history = cgan_run
    assert ['eval_label_accuracy' in row for row in history] == [False, True, False]
    saved = artifacts.read_history(model_dir / 'history.csv')
    assert saved[1]['eval_frechet_distance'] == pytest.approx(history[1]['eval_frechet_distance'])
    assert saved[1]['eval_class_coverage'] == pytest.approx(history[1]['eval_class_coverage'])
    assert 'eval_frechet_distance' not in saved[0] and 'eval_frechet_distance' not in saved[2]
    assert 0 <= saved[1]['eval_label_accuracy'] <= 1
    for name in ('selfsupervised_frechet_distance', 'precision', 'recall', 'copy_share'):
        assert saved[1][f'eval_{name}'] == pytest.approx(history[1][f'eval_{name}'])
        assert saved[1][f'eval_real_{name}'] == pytest.approx(history[1][f'eval_real_{name}'])
    assert (model_dir / 'losses.png').stat().st_size > 0


def cli(*args, cache_dir):
    return subprocess.run([sys.executable, '-m', 'tfgan2.cli.evaluate', *args], capture_output=True,
                          text=True, timeout=PATIENCE_S, env={**os.environ, 'TFGAN2_CACHE': cache_dir})


def last_line(result):
    return result.stderr.strip().splitlines()[-1]


def test_cli_evaluates_a_run_and_its_export_with_one_cached_classifier(cgan_run, tmp_path_factory):
    model_dir, _ = cgan_run
    idx_dir = make_idx_dir(tmp_path_factory.mktemp('eval_idx'), 400, 400)
    cache, out = tmp_path_factory.mktemp('cli_cache'), tmp_path_factory.mktemp('cli_out')
    run = cli(f'--model_dir={model_dir}', f'--data={idx_dir}', '--num_samples=100',
              f'--output={out / "run.json"}', cache_dir=str(cache))
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'label accuracy' in run.stdout and 'coverage' in run.stdout
    assert 'Training the eval_idx' in run.stderr  # the data's name, from --data
    assert json.loads((out / 'run.json').read_text())['num_samples'] == 100

    export.export_generator(load_run(model_dir), str(out / 'exports'), 'cgan')
    exported = cli(f'--saved_model={out / "exports" / "cgan"}', f'--data={idx_dir}', '--num_samples=100',
                   cache_dir=str(cache))
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert 'label accuracy' in exported.stdout and 'Training the' not in exported.stderr
    assert [name.split('-')[0] for name in os.listdir(cache / 'classifiers')] == ['eval_idx0']


def test_cli_errors_are_one_line_naming_flags(cgan_run, tmp_path):
    model_dir, _ = cgan_run
    no_data = cli(f'--saved_model={tmp_path}', cache_dir=str(tmp_path))
    assert no_data.returncode != 0 and last_line(no_data).startswith('error: --saved_model needs')
    missing_weights = cli(f'--model_dir={model_dir}', f'--data={make_idx_dir(tmp_path / "idx")}',
                          '--metric=inception', f'--inception_weights={tmp_path / "missing.h5"}',
                          cache_dir=str(tmp_path))
    assert missing_weights.returncode != 0
    assert last_line(missing_weights).startswith("error: --inception_weights='")
