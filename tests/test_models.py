"""The GANs as Keras models: shapes for every image size, Keras saving, summaries, input errors,
and what build_gan accepts."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import PATIENCE_S, TINY_WIDTHS

from tfgan2 import build_gan, models, rng
from tfgan2.models import networks

ALL = list(models.MODELS)


def tiny(kind, image_shape=(28, 28, 1), num_classes=10, **hyperparameters):
    return build_gan(kind, image_shape=image_shape, num_classes=num_classes, **{**TINY_WIDTHS, **hyperparameters})


def layers_of(model, layer_type, strides=None):
    return [layer for layer in model.layers if isinstance(layer, layer_type)
            and (strides is None or layer.strides == (strides, strides))]


@pytest.mark.parametrize('size, widths, base', [
    (28, (128, 64), 7), (32, (128, 64), 8), (64, (128, 64, 32), 8), (128, (128, 64, 32, 32), 8)])
def test_larger_images_add_a_narrow_stage_not_width(size, widths, base):
    gan = build_gan('dcgan', image_shape=(size, size, 3))
    generator, discriminator = gan.generator, gan.discriminator
    stages = len(widths)
    assert gan.hyperparameters.generator_widths == widths
    assert gan.hyperparameters.discriminator_widths == tuple(reversed(widths))
    reshape = next(layer for layer in generator.layers if isinstance(layer, keras.layers.Reshape))
    assert reshape.target_shape == (base, base, 128)
    assert len(layers_of(generator, keras.layers.Conv2DTranspose, strides=2)) == stages
    assert len(layers_of(discriminator, keras.layers.Conv2D, strides=2)) == stages
    flatten = next(layer for layer in discriminator.layers if isinstance(layer, keras.layers.Flatten))
    assert flatten.output.shape[-1] == base * base * 128
    assert gan.sample(2).shape == (2, size, size, 3)


def test_28_pixel_defaults_keep_the_measured_networks():
    gan = build_gan('dcgan', image_shape=(28, 28, 1))
    assert gan.hyperparameters.generator_widths == (128, 64) and gan.hyperparameters.discriminator_widths == (64, 128)
    assert gan.generator.count_params() == 100 * 7 * 7 * 128 + 4 * 7 * 7 * 128 + 128 * 64 * 16 + 4 * 64 + 64 * 16 + 1


def test_more_stages_start_from_a_smaller_map():
    gan = build_gan('dcgan', image_shape=(32, 32, 3), stages=3)
    assert gan.hyperparameters.generator_widths == (128, 64, 32)
    assert gan.hyperparameters.discriminator_widths == (32, 64, 128)
    reshape = next(layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Reshape))
    assert reshape.target_shape == (4, 4, 128) and gan.sample(2).shape == (2, 32, 32, 3)
    assert len(layers_of(gan.discriminator, keras.layers.Conv2D, strides=2)) == 3
    with pytest.raises(ValueError, match='stages=6: 32x32 images cannot be halved 6 times'):
        build_gan('dcgan', image_shape=(32, 32, 3), stages=6)


def test_spectral_norm_wraps_every_discriminator_layer():
    gan = tiny('dcgan', spectral_norm=True)
    wrapped = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3  # two convolutions and the logit head
    gan.discriminator(tf.random.normal([4, 28, 28, 1]), training=True)
    kernel = wrapped[-1].layer.kernel.numpy()  # normalised by the power iteration's estimate
    assert np.linalg.svd(kernel, compute_uv=False).max() == pytest.approx(1.0, abs=0.05)


def test_skip_excitation_gates_the_last_map_of_the_generator():
    gan = build_gan('dcgan', image_shape=(32, 32, 3), noise_dim=8, stages=3, generator_widths=(16, 8, 8),
                    skip_excitation=True)
    gates = [layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Multiply)]
    assert len(gates) == 1 and tuple(gates[0].output.shape) == (None, 16, 16, 8)  # the map before the image
    with pytest.raises(ValueError, match='skip_excitation .* needs at least 3 stages'):
        tiny('dcgan', skip_excitation=True)  # 28 px: 2 stages


def test_reconstruction_head_learns_to_redraw_real_images():
    gan = tiny('dcgan', reconstruction_weight=1.0, dropout=0.0)
    images = tf.random.uniform([8, 28, 28, 1], -1, 1, seed=3)
    assert gan.discriminator(images)['reconstruction_error'].shape == (8,)
    optimizer = keras.optimizers.Adam(1e-2)
    errors = []
    for _ in range(60):
        with tf.GradientTape() as tape:
            error = tf.reduce_mean(gan.discriminator(images, training=True)['reconstruction_error'])
        variables = gan.discriminator.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(error, variables), variables))
        errors.append(float(error))
    assert errors[-1] < 0.7 * errors[0]


def test_widths_longer_than_the_stages_add_stride_one_layers_as_the_tutorial():
    gan = build_gan('dcgan', image_shape=(28, 28, 1), generator_widths=(256, 128, 64))
    assert len(layers_of(gan.generator, keras.layers.Conv2DTranspose, strides=1)) == 1
    assert gan.sample(1).shape == (1, 28, 28, 1)


@pytest.mark.parametrize('shape, hyperparameters, message', [
    ((27, 27, 1), {}, 'divisible by 4'),
    ((64, 64, 3), {'generator_widths': (64, 32)}, 'generator_widths=64,32: 64x64 images in 3 stages need at least 3'),
    ((28, 28, 1), {'discriminator_widths': (8, 16, 32)},
     'discriminator_widths=8,16,32: 28x28 images in 2 stages need 2'),
])
def test_sizes_and_widths_that_do_not_fit_are_refused(shape, hyperparameters, message):
    with pytest.raises(ValueError, match=message):
        build_gan('dcgan', image_shape=shape, **hyperparameters)


@pytest.mark.parametrize('kind', ALL)
def test_keras_saving_round_trips_the_gan_and_its_generator(tmp_path, kind):
    gan = tiny(kind)
    for variable in gan.averaged_generator.weights:  # far from the initial weights
        variable.assign(tf.random.normal(variable.shape, stddev=0.3) + (1.0 if 'variance' in variable.path else 0.0))
    labels = [0, 1, 2] if gan.conditional else None
    expected = gan.sample(3, labels=labels, seed=4)
    gan.save(tmp_path / 'gan.keras')
    loaded = keras.saving.load_model(tmp_path / 'gan.keras')
    assert type(loaded) is type(gan) and loaded.get_config() == gan.get_config()
    np.testing.assert_allclose(loaded.sample(3, labels=labels, seed=4), expected, atol=1e-6)
    gan.averaged_generator.save(tmp_path / 'generator.keras')
    generator = keras.saving.load_model(tmp_path / 'generator.keras')
    latent = gan.sample_latent(rng.StatelessSampler(4), 3, tf.constant(labels) if labels else None)
    np.testing.assert_allclose(generator(latent) * 1.0, expected, atol=1e-6)


LOAD_AFTER_A_PLAIN_IMPORT = """
import sys
import numpy as np
import tfgan2  # nothing more: not tfgan2.models, and Keras not loaded yet
import tensorflow as tf  # which loads Keras
import keras
folder = sys.argv[1]
gan, generator = keras.saving.load_model(folder + '/gan.keras'), tf.keras.models.load_model(folder + '/generator.keras')
np.save(folder + '/loaded.npy', np.stack([gan.sample(3, seed=4), generator(np.load(folder + '/noise.npy'))]))
print(type(gan).__name__, type(generator).__name__)
"""


def test_keras_loads_a_saved_gan_and_generator_after_a_plain_import_of_tfgan2(tmp_path):
    gan = tiny('dcgan')
    gan.save(tmp_path / 'gan.keras')
    gan.averaged_generator.save(tmp_path / 'generator.keras')
    noise = gan.sample_latent(rng.StatelessSampler(4), 3)['noise'].numpy()
    np.save(tmp_path / 'noise.npy', noise)
    result = subprocess.run([sys.executable, '-c', LOAD_AFTER_A_PLAIN_IMPORT, str(tmp_path)],
                            capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['DCGAN', 'Generator']
    loaded_samples, loaded_images = np.load(tmp_path / 'loaded.npy')
    np.testing.assert_allclose(loaded_samples, gan.sample(3, seed=4), atol=1e-6)
    np.testing.assert_allclose(loaded_images, gan.generate({'noise': noise}), atol=1e-6)


def test_summary_shows_every_layer_with_its_shape():
    lines = []
    tiny('cgan').summary(print_fn=lambda line, **kwargs: lines.append(line))
    text = '\n'.join(lines)
    assert 'Model: "generator"' in text and 'Model: "discriminator"' in text
    assert '(None, 28, 28, 1)' in text and '?' not in text


@pytest.mark.parametrize('latent, message', [
    ({'noise': tf.zeros([2, 8])}, 'Missing data for input "label"'),
    ({'noise': tf.zeros([2, 9]), 'label': tf.zeros([2], tf.int32)}, 'expected shape=\\(None, 8\\)'),
])
def test_wrong_generator_inputs_get_a_clear_error(latent, message):
    with pytest.raises(ValueError, match=message):
        tiny('cgan').generate(latent)


def test_unconditional_generator_takes_a_plain_noise_tensor():
    gan = tiny('dcgan')
    noise = tf.random.normal([2, 8])
    np.testing.assert_allclose(gan.averaged_generator(noise), gan.generate({'noise': noise}), atol=1e-6)


def test_build_gan_refuses_what_the_model_does_not_take():
    with pytest.raises(ValueError, match='class_weight do\\(es\\) not apply to dcgan'):
        tiny('dcgan', class_weight=0.5)
    with pytest.raises(ValueError, match="model='stylegan' is unknown"):
        build_gan('stylegan', image_shape=(28, 28, 1))


@pytest.mark.parametrize('kind', ['cgan', 'acgan'])
def test_models_that_need_labels_refuse_unlabeled_data_naming_those_that_do_not(kind):
    with pytest.raises(ValueError, match='needs labelled data.*train selfcond or dcgan, or infogan with supervised'):
        tiny(kind, num_classes=0)
    unsupervised = tiny('infogan', num_classes=0)
    assert not unsupervised.hyperparameters.supervised and unsupervised.hyperparameters.categories == 10


def test_keras_fit_points_to_the_trainer():
    with pytest.raises(TypeError, match='tfgan2.Trainer'):
        tiny('dcgan').fit(np.zeros([1, 28, 28, 1]))


def test_hyperparameters_are_declared_once_with_their_help_and_resolved_into_the_config():
    for cls in models.MODELS.values():
        names = [h.name for h in cls.HYPERPARAMETERS]
        assert len(names) == len(set(names)) and all(h.help for h in cls.HYPERPARAMETERS), cls.kind
        config = tiny(cls.kind).get_config()
        assert set(config) == {'image_shape', 'num_classes', *names}, cls.kind
        assert None not in config.values(), cls.kind  # defaults left None are resolved


def test_hyperparameter_values_are_checked_against_their_declaration():
    with pytest.raises(ValueError, match="noise_dim='8': give a whole number"):
        tiny('dcgan', noise_dim='8')
    with pytest.raises(ValueError, match="loss='softmax' is unknown; use one of non_saturating, hinge"):
        tiny('dcgan', loss='softmax')
    with pytest.raises(ValueError, match='penalty_every=0: use a value at least 1'):
        tiny('dcgan', penalty_every=0)
    assert tiny('dcgan', dropout=0).hyperparameters.dropout == 0.0  # an int where a float is declared
    resolved = tiny('dcgan', penalty='gradient').hyperparameters
    assert resolved.penalty_weight == 10.0  # resolved by the penalty


def test_batch_norm_synchronizes_only_across_replicas():
    assert not networks.batch_norm().synchronized
