"""InceptionV3 pool features, the feature space of FID and KID as papers report them.

The network is `keras.applications.InceptionV3` (2048 average-pooled features), fed images resized
to 299x299, grayscale repeated to RGB, and preprocessed as Keras does for it. Its ImageNet weights
are Keras's, not the 2015 TF graph that pytorch-fid ports, so figures are comparable between
tfgan2 runs and close to, not identical with, published FIDs.
"""

import contextlib
import os
import socket

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import errors, storage
from tfgan2.evaluation import classifier

INPUT_SIZE = 299
WEIGHTS_FILE = 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5'
WEIGHTS_HOST = 'storage.googleapis.com'
WEIGHTS_URL = f'https://{WEIGHTS_HOST}/tensorflow/keras-applications/inception_v3/{WEIGHTS_FILE}'
DOWNLOAD_TIMEOUT_S = 60


class WeightsUnavailableError(errors.ConfigError):
    """InceptionV3 weights were asked for that are neither on disk nor downloadable now."""


def keras_weights_path():
    """Where Keras caches the ImageNet weights file: $KERAS_HOME/models, else ~/.keras/models
    (/tmp/.keras/models when the home folder is read-only), as Keras sets its home."""
    home = os.path.expanduser('~')
    keras_home = os.environ.get('KERAS_HOME') or os.path.join(
        home if os.access(home, os.W_OK) else '/tmp', '.keras')
    return os.path.join(keras_home, 'models', WEIGHTS_FILE)


def _cached_weights():
    """The cached weights file, or None; `keras.utils.get_file` falls back to /tmp/.keras when
    the Keras home is not writable."""
    candidates = (keras_weights_path(), os.path.join('/tmp', '.keras', 'models', WEIGHTS_FILE))
    return next((path for path in candidates if os.path.isfile(path)), None)


@contextlib.contextmanager
def _socket_timeout(seconds):
    """Bounds every socket operation inside (Keras downloads without a timeout of its own)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _build(weights):
    return keras.applications.InceptionV3(include_top=False, pooling='avg', weights=weights,
                                          input_shape=(INPUT_SIZE, INPUT_SIZE, 3))


def _download_imagenet():
    """InceptionV3 with ImageNet weights that Keras downloads into its cache now; fails within
    seconds when offline instead of hanging."""
    cached = keras_weights_path()
    if not storage.host_reachable(WEIGHTS_HOST):
        raise WeightsUnavailableError(
            f'InceptionV3 ImageNet weights are not in the Keras cache and {WEIGHTS_HOST} cannot be '
            f'reached: download {WEIGHTS_URL} where you are online and place it at {cached}, or pass '
            f'inception_weights=PATH.')
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return _build('imagenet')
    except Exception as e:  # Keras reports download failures as a bare Exception.
        raise WeightsUnavailableError(f'Downloading InceptionV3 ImageNet weights failed ({e}); place '
                                      f'{WEIGHTS_FILE} at {cached}, or pass inception_weights=PATH.') from e


def load_inception(weights='imagenet'):
    """InceptionV3 without its top, average-pooled: `weights` is 'imagenet' (the Keras cache, else
    downloaded), a path to its weights file (any tf.io.gfile path), or None (random, for tests)."""
    if weights is None:
        return _build(None)
    if weights == 'imagenet':
        weights = _cached_weights()
        if weights is None:
            return _download_imagenet()
    if not tf.io.gfile.exists(weights):
        raise WeightsUnavailableError(f"inception_weights={weights!r} does not exist; pass 'imagenet' "
                                      f'or the path of {WEIGHTS_FILE}.')
    with storage.local_copy(weights) as local:
        try:
            return _build(local)
        except (OSError, ValueError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WeightsUnavailableError(f'inception_weights={weights!r} could not be loaded as '
                                          f'{WEIGHTS_FILE} ({reason}); replace it with an intact '
                                          f'copy.') from None


class InceptionFeatures:
    """Maps images to InceptionV3's 2048 pool features."""

    def __init__(self, weights='imagenet'):
        self.model = load_inception(weights)
        # One trace for every image size, channel count and batch size.
        self._features = tf.function(self._pool_features,
                                     input_signature=[tf.TensorSpec([None, None, None, None], tf.float32)])

    def _pool_features(self, images):
        pixels = tf.image.resize((images + 1.0) * 127.5, (INPUT_SIZE, INPUT_SIZE))
        rgb = tf.broadcast_to(pixels, tf.concat([tf.shape(pixels)[:-1], [3]], axis=0))  # Gray: repeated.
        rgb = tf.ensure_shape(rgb, [None, INPUT_SIZE, INPUT_SIZE, 3])
        return self.model(keras.applications.inception_v3.preprocess_input(rgb), training=False)

    def features(self, images, batch_size=50):
        """images [N, H, W, C] (uint8, or floats in [-1, 1]; C 1 or 3) -> features float64 [N, 2048]."""
        return np.concatenate([self._features(batch).numpy() for batch in
                               classifier.unit_range_batches(images, batch_size)]).astype(np.float64)
