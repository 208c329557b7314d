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
from tfgan2.models.cgan import classifier_losses

CONDITIONAL = ['cgan', 'acgan', 'infogan']


def tiny_gan(name, image_shape=(28, 28, 1), num_classes=10, **hyperparameters):
    return build_gan(name, image_shape=image_shape, num_classes=num_classes, **TINY_WIDTHS, **hyperparameters)


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


# One real image of class 0 and one generated image asked to be class 1, K = 2 classes. The
# expected values are worked out by hand below each case (ln 2 = 0.693147, e = 2.718282).
REAL = {'class_logits': [[1.0, 0.0]], 'fake_class_logits': [[0.0, 0.0]]}
GENERATED = {'class_logits': [[0.0, 2.0]], 'fake_class_logits': [[0.0, 1.0]]}
REAL_CLASS_LOSS = 0.313262  # -log softmax([1, 0])[0] = log(1 + e^-1)
FAKE_CLASS_LOSS = 0.126928  # -log softmax([0, 2])[1] = log(1 + e^-2)
TWIN_CLASS_LOSS = 0.313262  # -log softmax([0, 1])[1] = log(1 + e^-1)


@pytest.mark.parametrize('classifier, g_term, d_term', [
    # 2K-way softmax: real row [1, 0 | 0, 0] at index 0: log(e + 3) - 1 = 0.743668; generated row
    # [0, 2 | 0, 1] at index K + 1: log(2 + e^2 + e) - 1 = 1.493806. The generator's term is the
    # generated-class logit minus the real-class logit of its label: 1 - 2.
    ('discriminative', -1.0, 0.743668 + 1.493806),
    # The classifier learns real labels and, weighted 0.25, generated ones; the generator follows it.
    ('auxiliary', FAKE_CLASS_LOSS, REAL_CLASS_LOSS + 0.25 * FAKE_CLASS_LOSS),
    # Plus the twin head, which learns generated labels and which the generator works against.
    ('twin', FAKE_CLASS_LOSS - TWIN_CLASS_LOSS, REAL_CLASS_LOSS + 0.25 * FAKE_CLASS_LOSS + TWIN_CLASS_LOSS),
])
def test_classifier_terms_match_hand_computation(classifier, g_term, d_term):
    real = {key: tf.constant(value) for key, value in REAL.items()}
    generated = {key: tf.constant(value) for key, value in GENERATED.items()}
    weight = 0.0 if classifier == 'discriminative' else 0.25
    g, d, diagnostics = classifier_losses(classifier, real, generated, tf.constant([0]), tf.constant([1]), weight)
    assert float(g) == pytest.approx(g_term, abs=1e-5) and float(d) == pytest.approx(d_term, abs=1e-5)
    assert float(diagnostics['real_class_loss']) == pytest.approx(REAL_CLASS_LOSS, abs=1e-5)
    assert float(diagnostics['fake_class_loss']) == pytest.approx(FAKE_CLASS_LOSS, abs=1e-5)


class StubDiscriminator:
    """Fixed outputs: one set for real images (all -1), another for generated ones (all 1)."""

    def __init__(self, real, fake):
        self.real, self.fake = real, fake

    def __call__(self, images, training=False):
        outputs = self.real if float(tf.reduce_mean(images)) < 0 else self.fake
        return {name: tf.constant(o, tf.float32) for name, o in outputs.items()}


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize('name, hyperparameters', [
    ('cgan', {}), ('cgan', {'loss': 'hinge'}),
    ('acgan', {'classifier': 'twin', 'class_weight': 0.5, 'fake_class_weight': 0.25}),
    ('infogan', {'categorical_weight': 0.5, 'continuous_weight': 2.0}),
    ('infogan', {'supervised': False, 'categories': 2})])
def test_losses_assemble_the_adversarial_loss_and_the_weighted_terms(name, hyperparameters):
    """compute_losses adds each model's terms, with its weights, to the chosen adversarial loss
    on the right logit (CGAN: the projection of the label's class score)."""
    gan = tiny_gan(name, num_classes=2, **hyperparameters)
    real = {'logit': [[0.5]], **REAL, 'code_mean': [[0.0, 0.0]]}
    fake = {'logit': [[-1.0]], **GENERATED, 'code_mean': [[0.2, -0.4]]}
    gan.__dict__['discriminator'] = StubDiscriminator(real, fake)  # plain attributes: not tracked by Keras
    gan.__dict__['generator'] = lambda latent, training=True: tf.ones([1, 28, 28, 1])
    sampler = rng.StatelessSampler(5)
    latent = gan.sample_latent(sampler, 1, tf.constant([1]))
    latent['noise'] = tf.zeros([1, gan.noise_dim])
    gan.fake_latent = lambda sampler, labels: (latent, latent['label'])
    metrics = gan.compute_losses(-tf.ones([1, 28, 28, 1]), tf.constant([0]), sampler)
    real_logit, fake_logit = 0.5, -1.0
    if name == 'cgan':  # the projection adds the class score of each image's label: 1 (label 0), 2 (label 1)
        real_logit, fake_logit = 1.5, 1.0
    if hyperparameters.get('loss') == 'hinge':
        g_adversarial, d_adversarial = -fake_logit, max(0, 1 - real_logit) + max(0, 1 + fake_logit)
    else:
        g_adversarial, d_adversarial = softplus(-fake_logit), softplus(-real_logit) + softplus(fake_logit)
    g_term = d_term = 0.0
    if name == 'acgan':  # twin: the weights are 0.5 for the class terms, 0.25 for generated labels
        g_term = 0.5 * (FAKE_CLASS_LOSS - TWIN_CLASS_LOSS)
        d_term = 0.5 * (REAL_CLASS_LOSS + 0.25 * FAKE_CLASS_LOSS + TWIN_CLASS_LOSS)
    if name == 'infogan':
        squared_error = (latent['code'][0, 0] - 0.2) ** 2 + (latent['code'][0, 1] + 0.4) ** 2
        code = gan.hyperparameters.continuous_weight * 0.5 * squared_error
        if gan.hyperparameters.supervised:  # the discriminative classifier, weighted 0.5
            g_term, d_term = code + 0.5 * -1.0, code + 0.5 * (0.743668 + 1.493806)
        else:  # Q learns the generated code from generated images alone, weight 1
            g_term = d_term = code + FAKE_CLASS_LOSS
    assert float(metrics['g_loss']) == pytest.approx(g_adversarial + float(g_term), abs=1e-5)
    assert float(metrics['d_loss']) == pytest.approx(d_adversarial + float(d_term), abs=1e-5)
    assert float(metrics['real_logit']) == pytest.approx(real_logit) and float(metrics['real_sign']) == 1.0


@pytest.mark.parametrize('name', ['acgan', 'infogan'])
def test_classifier_choices_are_checked(name):
    with pytest.raises(ValueError, match="classifier='softmax' is unknown; use one of discriminative, twin"):
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
    np.testing.assert_array_equal(gan.fake_latent(rng.StatelessSampler(0), labels)[0]['label'], labels)
    gan = tiny_gan(name, num_classes=4, fake_labels='uniform')
    drawn = gan.fake_latent(rng.StatelessSampler(0), tf.zeros([4000], tf.int32))[1].numpy()
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
    assert loaded.num_labels == 5 and not loaded.hyperparameters.supervised and not loaded.draws_dataset_classes
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
