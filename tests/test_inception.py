"""InceptionV3 features and the FID/KID evaluation: the code path with random weights on tiny
inputs, and the weights lookup failing fast and in one line when it cannot be served."""

import socket

import numpy as np
import pytest
import tensorflow as tf
from keras.src.applications import inception_v3

from tfgan2 import data
from tfgan2.evaluation import evaluate, inception


def offline(*args, **kwargs):
    raise OSError('network unreachable (test)')


def test_missing_imagenet_weights_offline_fail_fast_naming_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv('KERAS_HOME', str(tmp_path))
    monkeypatch.setattr(socket, 'create_connection', offline)
    downloads = []  # failing fast means never starting Keras's download, which has no timeout of its own
    monkeypatch.setattr(inception, '_build', lambda weights: downloads.append(weights))
    with pytest.raises(inception.WeightsUnavailableError) as error:
        inception.InceptionFeatures('imagenet')
    assert downloads == []
    message = str(error.value)
    assert '\n' not in message and 'cannot be reached' in message
    assert str(tmp_path / 'models' / inception.WEIGHTS_FILE) in message and 'inception_weights=' in message
    assert inception.WEIGHTS_URL in message
    assert inception.WEIGHTS_URL == inception_v3.WEIGHTS_PATH_NO_TOP  # where Keras downloads from


def test_weights_files_that_are_missing_or_unreadable_are_refused_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(inception.WeightsUnavailableError, match='does not exist'):
        inception.InceptionFeatures(str(tmp_path / 'missing.h5'))
    # A cached file is used as it is, without asking the network.
    monkeypatch.setenv('KERAS_HOME', str(tmp_path))
    monkeypatch.setattr(socket, 'create_connection', lambda *a, **k: pytest.fail('went online'))
    cached = tmp_path / 'models' / inception.WEIGHTS_FILE
    cached.parent.mkdir()
    cached.write_bytes(b'not an HDF5 file')
    with pytest.raises(inception.WeightsUnavailableError, match='could not be loaded') as error:
        inception.InceptionFeatures('imagenet')
    assert '\n' not in str(error.value) and str(cached) in str(error.value)


@pytest.fixture(scope='module')
def random_inception():
    return inception.InceptionFeatures(weights=None)


def test_features_of_grayscale_pixels_and_rgb_floats(random_inception):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (2, 28, 28, 1), dtype=np.uint8)
    rgb = rng.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    for images in (gray, rgb):
        features = random_inception.features(images, batch_size=2)
        assert features.shape == (len(images), 2048) and features.dtype == np.float64
        assert np.all(np.isfinite(features))
    # Grayscale is the same image repeated in three channels.
    np.testing.assert_allclose(random_inception.features(gray),
                               random_inception.features(np.repeat(gray, 3, axis=-1)), rtol=1e-5, atol=1e-5)


def unlabeled_rgb(count, seed=0):
    """Unlabeled 32x32 RGB images: noise around a random colour per image."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 216, (count, 1, 1, 3))
    images = np.clip(colours + rng.integers(-40, 40, (count, 32, 32, 3)), 0, 255).astype(np.uint8)
    elements = tf.data.Dataset.from_tensor_slices((images, np.full(count, -1, np.int32)))
    return data.ImageData('colours', 'arrays', elements, (32, 32, 3), count, 0, None), images


def test_inception_metric_measures_fid_and_kid_and_no_class_figures():
    colours, images = unlabeled_rgb(12)
    evaluator = evaluate.Evaluator(colours, num_samples=4, metric='inception', inception_weights=None,
                                   selfsupervised=False)
    assert evaluator.metric == 'inception' and evaluator.classifier is None
    constant = evaluator.evaluate(lambda count, _: np.zeros((count, 32, 32, 3), np.float32))
    assert constant.num_samples == 4 and constant.metric == 'inception'
    # The real figures compare two halves of the real images.
    assert constant.frechet_distance > constant.real_frechet_distance
    assert constant.kernel_distance > constant.real_kernel_distance
    assert constant.classifier_score is None and constant.collapsed_classes is None
    assert set(constant.scalars()) == {'eval_frechet_distance', 'eval_real_frechet_distance',
                                       'eval_kernel_distance', 'eval_real_kernel_distance'}
    assert constant.summary().startswith('FID') and 'KID' in constant.summary()
    report = constant.report()
    assert 'inception features' in report and 'kernel distance' in report
    assert 'classifier' not in report and 'share' not in report
    with pytest.raises(ValueError, match='needs labeled evaluation data'):
        evaluator.evaluate(lambda count, labels: images[:count], class_conditional=True)
