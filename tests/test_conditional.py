"""CGAN, ACGAN and InfoGAN: shapes, hand-checked losses, preview grids, and short training runs
in which the generator learns to draw the class it is asked for."""

import json
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from conftest import PATIENCE_S, TINY_WIDTHS, synthetic_data

from tfgan2 import TrainConfig, Trainer, build_gan, load_run, rng

CONDITIONAL = ['cgan', 'acgan', 'infogan']


def tiny_gan(name, image_shape=(28, 28, 1), num_classes=10, **hyperparameters):
    widths = TINY_WIDTHS if image_shape[0] == 28 else {  # one width per stage: 3 for 32x32
        **TINY_WIDTHS, 'generator_widths': (16, 8, 8), 'discriminator_widths': (8, 8, 16)}
    return build_gan(name, image_shape=image_shape, num_classes=num_classes, **widths, **hyperparameters)


@pytest.mark.parametrize('image_shape', [(28, 28, 1), (32, 32, 3)])
@pytest.mark.parametrize('name', CONDITIONAL)
def test_network_shapes_and_dtypes(name, image_shape):
    gan = tiny_gan(name, image_shape)
    latent = gan.sample_latent(rng.StatelessSampler(0), 5)
    spec = gan.latent_spec()
    assert sorted(latent) == sorted(spec) == sorted(['noise', 'label', 'code'][:len(spec)])
    for key, value in latent.items():
        assert value.dtype == spec[key].dtype and value.shape[1:] == spec[key].shape[1:]
    assert spec['label'].dtype == tf.int32
    assert int(tf.reduce_max(latent['label'])) < gan.num_classes
    images = gan.generate(latent)
    assert images.shape == (5, *image_shape) and images.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    outputs = gan.discriminator(images)
    assert outputs['logit'].shape == (5, 1) and outputs['class_logits'].shape == (5, gan.num_classes)
    if name == 'infogan':
        assert spec['code'].shape.as_list() == [None, 2] and outputs['code_mean'].shape == (5, 2)


def bce(logits, target):
    return np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits))))


def cross_entropy(labels, logits):
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


class StubDiscriminator:
    """Fixed outputs: one set for real images (all -1), another for generated ones (all 1)."""

    def __init__(self, real, fake):
        self.real, self.fake = real, fake

    def __call__(self, images, training=False):
        outputs = self.real if float(tf.reduce_mean(images)) < 0 else self.fake
        return {name: tf.constant(o, tf.float32) for name, o in outputs.items()}


def class_terms(classifier, labels, fake_labels, real, fake, fake_class_weight):
    """(generator's, discriminator's class term, diagnostics) by hand; `real` and `fake` hold
    the stub discriminator's class scores of real images and of generated images' classes."""
    class_real = cross_entropy(labels, real['class_logits'])
    class_fake = cross_entropy(fake_labels, fake['class_logits'])
    diagnostics = {'real_class_loss': class_real, 'fake_class_loss': class_fake}
    if classifier == 'discriminative':  # 2K classes: (label, real) first, then (label, generated)
        both = lambda outputs: np.concatenate([outputs['class_logits'], outputs['fake_class_logits']], axis=1)
        num_classes = real['class_logits'].shape[1]
        d_term = cross_entropy(labels, both(real)) + cross_entropy(fake_labels + num_classes, both(fake))
        rows = np.arange(len(fake_labels))
        g_term = np.mean(fake['fake_class_logits'][rows, fake_labels] - fake['class_logits'][rows, fake_labels])
        return g_term, d_term, {**diagnostics, 'discriminative_class_loss': d_term}
    g_term, d_term = class_fake, class_real + fake_class_weight * class_fake
    if classifier == 'twin':  # The twin learns the fakes' labels; the generator works against it.
        twin = cross_entropy(fake_labels, fake['fake_class_logits'])
        return g_term - twin, d_term + twin, {**diagnostics, 'twin_class_loss': twin}
    return g_term, d_term, diagnostics


@pytest.mark.parametrize('name,hyperparameters', [
    ('cgan', {}),
    ('acgan', {'classifier': 'auxiliary', 'class_weight': 0.5, 'fake_class_weight': 0.25}),
    ('acgan', {'classifier': 'twin', 'class_weight': 0.5, 'fake_class_weight': 0.25}),
    ('acgan', {}),
    ('infogan', {'classifier': 'auxiliary', 'categorical_weight': 0.5, 'continuous_weight': 2.0,
                 'fake_class_weight': 0.25}),
    ('infogan', {'classifier': 'twin'}),
    ('infogan', {}),
    ('infogan', {'supervised': False, 'categories': 3})])
def test_losses_match_hand_computation(name, hyperparameters):
    num_classes, batch = 3, 4
    gan = tiny_gan(name, num_classes=num_classes, **hyperparameters)
    draw = np.random.default_rng(0).normal
    sizes = {'logit': 1, 'class_logits': num_classes, 'fake_class_logits': num_classes, 'code_mean': 2}
    real = {head: draw(size=(batch, size)) for head, size in sizes.items()}
    fake = {head: draw(size=(batch, size)) for head, size in sizes.items()}
    stub = StubDiscriminator(real, fake)
    gan.__dict__['discriminator'] = stub  # plain attributes: Keras would track the stubs as layers
    gan.fake_images = lambda latent, training=True: tf.ones([batch, 28, 28, 1])
    labels = np.array([0, 2, 1, 2], np.int32)
    # The same seed draws the same fake latents inside compute_losses.
    expected_latent = gan.fake_latent(rng.StatelessSampler(5), tf.constant(labels))
    metrics = gan.compute_losses(-tf.ones([batch, 28, 28, 1]), tf.constant(labels), rng.StatelessSampler(5))
    fake_labels = expected_latent['label'].numpy()
    adversarial = {'g_loss': bce(fake['logit'], 1), 'd_loss': bce(real['logit'], 1) + bce(fake['logit'], 0)}
    if name == 'cgan':
        real_pair = real['logit'][:, 0] + real['class_logits'][np.arange(batch), labels]
        fake_pair = fake['logit'][:, 0] + fake['class_logits'][np.arange(batch), fake_labels]
        expected = {'g_loss': bce(fake_pair, 1), 'd_loss': bce(real_pair, 1) + bce(fake_pair, 0),
                    'real_class_loss': cross_entropy(labels, real['class_logits']),
                    'fake_class_loss': cross_entropy(fake_labels, fake['class_logits'])}
    elif name == 'acgan':
        g_term, d_term, expected = class_terms(gan.classifier, labels, fake_labels, real, fake,
                                               hyperparameters.get('fake_class_weight', 0.0))
        weight = hyperparameters.get('class_weight', 1.0)  # the papers' 1 with the default classifier
        expected.update(g_loss=adversarial['g_loss'] + weight * g_term, d_loss=adversarial['d_loss'] + weight * d_term)
    else:
        # Default weights: the papers' 1, but 0.1 for a supervised auxiliary or twin classifier.
        default_weight = 1.0 if gan.classifier == 'discriminative' or not gan.supervised else 0.1
        categorical_weight = hyperparameters.get('categorical_weight', default_weight)
        continuous_weight = hyperparameters.get('continuous_weight', 1.0)
        if gan.supervised:  # Q's categorical part is an ACGAN class head on the labels.
            assert gan.classifier == hyperparameters.get('classifier', 'discriminative')
            g_term, d_term, expected = class_terms(gan.classifier, labels, fake_labels, real, fake,
                                                   hyperparameters.get('fake_class_weight', 0.0))
        else:  # Unsupervised, Q learns the categorical code from generated images alone.
            assert gan.classifier == 'auxiliary'
            g_term = d_term = cross_entropy(fake_labels, fake['class_logits'])
            expected = {'fake_class_loss': g_term}
        code = np.mean(np.sum(0.5 * (expected_latent['code'].numpy() - fake['code_mean']) ** 2, axis=1))
        expected.update(code_loss=code,
                        g_loss=adversarial['g_loss'] + categorical_weight * g_term + continuous_weight * code,
                        d_loss=adversarial['d_loss'] + categorical_weight * d_term + continuous_weight * code)
    assert sorted(metrics) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(float(metrics[key]), value, rtol=1e-5, err_msg=key)


@pytest.mark.parametrize('name', ['acgan', 'infogan'])
def test_classifier_choices_are_checked(name):
    with pytest.raises(ValueError, match="classifier='softmax' is unknown"):
        tiny_gan(name, classifier='softmax')
    with pytest.raises(ValueError, match='fake_class_weight=0.5 does not apply'):
        tiny_gan(name, fake_class_weight=0.5)  # the default discriminative classifier
    weight = 'class_weight' if name == 'acgan' else 'categorical_weight'
    assert tiny_gan(name).get_config()[weight] == 1.0
    twin = tiny_gan(name, classifier='twin', fake_class_weight=0.5).get_config()
    assert twin['fake_class_weight'] == 0.5 and twin[weight] == 0.1
    outputs = tiny_gan(name, classifier='auxiliary').discriminator(tf.zeros([1, 28, 28, 1]))
    assert 'class_logits' in outputs and 'fake_class_logits' not in outputs


def test_unsupervised_infogan_keeps_its_auxiliary_q_head():
    with pytest.raises(ValueError, match='Unsupervised infogan has no labels to train a discriminative'):
        tiny_gan('infogan', supervised=False, classifier='discriminative')
    assert tiny_gan('infogan', supervised=False).get_config()['classifier'] == 'auxiliary'


@pytest.mark.parametrize('name', ['cgan', 'infogan'])
def test_fake_labels_uniform_or_real(name):
    gan = tiny_gan(name, num_classes=4, fake_labels='real')
    labels = tf.constant([3, 1, 0, 2] * 16)
    np.testing.assert_array_equal(gan.fake_latent(rng.StatelessSampler(0), labels)['label'], labels)
    gan = tiny_gan(name, num_classes=4, fake_labels='uniform')
    drawn = gan.fake_latent(rng.StatelessSampler(0), tf.zeros([4000], tf.int32))['label'].numpy()
    assert sorted(np.unique(drawn)) == [0, 1, 2, 3]
    assert np.abs(np.bincount(drawn) / 4000 - 0.25).max() < 0.03


@pytest.mark.parametrize('name', CONDITIONAL)
def test_preview_has_one_row_per_class_over_the_fixed_noise(name):
    gan = tiny_gan(name, num_classes=3)
    noise = tf.random.normal([gan.preview_noise_count, gan.noise_dim])
    latent, rows = gan.preview_latents(noise)['epoch']
    assert rows == 3 and gan.preview_noise_count == 10
    np.testing.assert_array_equal(latent['label'].numpy().reshape(3, 10), np.repeat([[0], [1], [2]], 10, 1))
    np.testing.assert_array_equal(latent['noise'].numpy().reshape(3, 10, -1), np.stack([noise.numpy()] * 3))
    if name == 'infogan':
        assert not np.any(latent['code'].numpy())


def test_infogan_traversals_sweep_one_code_per_grid():
    gan = tiny_gan('infogan', num_classes=3)
    noise = tf.random.normal([10, gan.noise_dim])
    previews = gan.preview_latents(noise)
    assert list(previews) == ['epoch', 'code_1', 'code_2']
    for i, name in enumerate(['code_1', 'code_2']):
        latent, rows = previews[name]
        assert rows == 3
        codes = latent['code'].numpy().reshape(3, 10, 2)
        np.testing.assert_allclose(codes[:, :, i], np.tile(np.linspace(-2, 2, 10), (3, 1)), atol=1e-6)
        assert not np.any(codes[:, :, 1 - i])
        np.testing.assert_array_equal(latent['label'].numpy().reshape(3, 10)[:, 0], [0, 1, 2])
        np.testing.assert_array_equal(latent['noise'].numpy(), np.tile(noise.numpy()[:1], (30, 1)))


@pytest.fixture(scope='module', params=CONDITIONAL)
def trained(request, tmp_path_factory):
    """(name, trainer, model_dir) after 3 short epochs on 4 trivially separable classes."""
    name, model_dir = request.param, tmp_path_factory.mktemp(request.param)
    data = synthetic_data(count=512, num_classes=4)
    tf.keras.utils.set_random_seed(1)
    # concat learns the label within a few dozen steps at these widths; multiply (the default,
    # which keeps more diversity on Fashion-MNIST) needs hundreds: the label only rescales noise.
    gan = build_gan(name, data, **TINY_WIDTHS, mixing='concat')
    trainer = Trainer(gan, str(model_dir), TrainConfig(batch_size=32, steps_per_epoch=16, seed=1, verbose=False))
    trainer.fit(data, epochs=3)
    return name, trainer, model_dir


def block_class(images, num_classes):
    """Which class's block (see `synthetic_digits`) is brightest in each image."""
    blocks = [images[:, 2:9, 2 + 6 * c: 9 + 6 * c, 0].mean(axis=(1, 2)) for c in range(num_classes)]
    return np.argmax(np.stack(blocks, axis=1), axis=1)


def test_short_training_teaches_the_class(trained):
    name, trainer, _ = trained
    gan, (first, *_, last) = trainer.gan, trainer.history
    # The discriminator's class scores learn real labels; the generator's images follow theirs.
    assert last['real_class_loss'] < first['real_class_loss']
    if name != 'cgan':
        assert last['fake_class_loss'] < first['fake_class_loss']
    labels = tf.constant(np.repeat(np.arange(4), 50).astype(np.int32))
    images = gan.sample(200, labels=labels, seed=9).numpy()
    assert np.mean(block_class(images, 4) == labels.numpy()) > 0.9


def test_grids_have_a_row_per_class_and_a_column_per_noise(trained):
    name, _, model_dir = trained
    tile = 2 * 28 + 2  # tiles scaled x2 to make the grid at least 512 px wide
    for epoch in (1, 3):
        grid = iio.imread(model_dir / 'images' / f'epoch_{epoch:04d}.png')
        assert grid.shape == (4 * tile + 2, 10 * tile + 2)
    extra = {'infogan': ['code_1', 'code_2']}.get(name, [])
    assert sorted(p.name for p in (model_dir / 'images').iterdir() if p.is_dir()) == extra
    for folder in extra:
        assert iio.imread(model_dir / 'images' / folder / 'epoch_0003.png').shape == grid.shape


def test_bad_configurations_fail_clearly():
    with pytest.raises(ValueError, match='needs labelled data'):
        tiny_gan('cgan', num_classes=0)
    with pytest.raises(ValueError, match='mixing'):
        tiny_gan('acgan', mixing='add')
    with pytest.raises(ValueError, match='fake_labels'):
        tiny_gan('cgan', fake_labels='sometimes')
    with pytest.raises(ValueError, match='categorical code, not categories=4'):
        tiny_gan('infogan', num_classes=10, categories=4)
    with pytest.raises(ValueError, match='fake_labels=real'):
        tiny_gan('infogan', supervised=False, fake_labels='real')
    with pytest.raises(ValueError, match='fake_class_weight must stay 1'):
        tiny_gan('infogan', supervised=False, fake_class_weight=0.0)
    assert tiny_gan('infogan', num_classes=0, supervised=False).num_labels == 10


def test_unsupervised_infogan_round_trips_through_its_run_record(tmp_path):
    data = synthetic_data(count=64)
    tf.keras.utils.set_random_seed(2)
    gan = build_gan('infogan', data, **TINY_WIDTHS, supervised=False, categories=5)
    Trainer(gan, str(tmp_path), TrainConfig(steps_per_epoch=1, verbose=False)).fit(data, epochs=1)
    loaded = load_run(tmp_path)
    assert loaded.num_labels == 5 and not loaded.supervised and not loaded.draws_dataset_classes
    np.testing.assert_allclose(loaded.sample(4, seed=3), gan.sample(4, seed=3), atol=1e-6)


def test_cli_passes_model_flags_and_rejects_foreign_ones(tmp_path, idx_dir):
    # In a subprocess: importing tfgan2.cli.train here would define its flags in this process's
    # global absl FLAGS for every later test.
    argv = [sys.executable, '-m', 'tfgan2.cli.train', f'--data={idx_dir}', '--epochs=1',
            '--steps_per_epoch=1', '--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16']
    refused = subprocess.run(argv + ['--model=dcgan', '--supervised', f'--model_dir={tmp_path / "a"}'],
                             capture_output=True, text=True, timeout=PATIENCE_S)
    assert refused.returncode != 0
    assert '--supervised does not apply to --model=dcgan' in refused.stderr
    trained = subprocess.run(argv + ['--model=infogan', '--nosupervised', '--continuous_weight=0.5',
                                     '--mixing=multiply', f'--model_dir={tmp_path / "b"}'],
                             capture_output=True, text=True, timeout=PATIENCE_S)
    assert trained.returncode == 0, trained.stderr[-2000:]
    record = json.loads((tmp_path / 'b' / 'gan.json').read_text())
    assert record['model'] == 'infogan'
    assert record['config']['supervised'] is False
    assert record['config']['continuous_weight'] == 0.5
    assert record['config']['mixing'] == 'multiply'
