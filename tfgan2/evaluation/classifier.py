"""The evaluation classifier: a small CNN per dataset, trained once on a sample of it and cached.

Its logits give the classifier score and label accuracy; its penultimate layer is the feature
space of the Fréchet distance (TF-GAN's `mnist_frechet_distance` idea, for any labeled data).
It is cached (`tfgan2.evaluation.cache`) by the data's name and a fingerprint of the training
sample and recipe.
"""

import dataclasses
import logging
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfgan2 import errors
from tfgan2.evaluation import cache

logger = logging.getLogger(__name__)

# Part of the cache key: bump whenever `build_classifier` or `train_classifier` changes.
RECIPE_VERSION = 2
FEATURE_LAYER = 'features'
MODEL_FILE = 'classifier.keras'


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """How the evaluation classifier is trained; every field is part of its cache key."""
    epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 1e-3
    feature_dim: int = 128
    max_train_examples: int = 60000  # A deterministic sample of larger data.
    seed: int = 0


def unit_range_batches(images, batch_size):
    """float32 batches in [-1, 1] of images [N, H, W, C] given as uint8 pixels or as floats
    already in [-1, 1]."""
    for start in range(0, len(images), batch_size):
        batch = np.asarray(images[start:start + batch_size])
        yield tf.constant(batch.astype(np.float32) / 127.5 - 1 if batch.dtype == np.uint8 else batch,
                          tf.float32)


def build_classifier(image_shape, num_classes, feature_dim=128, seed=0):
    """Two conv blocks, a `features` layer (the FD feature space) and class logits."""
    init = lambda offset: keras.initializers.GlorotUniform(seed=seed + offset)  # noqa: E731
    inputs = keras.Input(image_shape, name='images')
    x = layers.Conv2D(32, 3, padding='same', activation='relu', kernel_initializer=init(1))(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding='same', activation='relu', kernel_initializer=init(2))(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_dim, activation='relu', kernel_initializer=init(3),
                            name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.3, seed=seed)(features)
    logits = layers.Dense(num_classes, kernel_initializer=init(4), name='logits')(x)
    return keras.Model(inputs, logits, name='evaluation_classifier')


def fit_in_stateless_order(model, train_images, targets, epochs, batch_size, seed, callbacks=()):
    """Fits a compiled `model` to uint8 images [N, H, W, C] (scaled to [-1, 1] per batch) and
    `targets` [N, ...], in an order that depends on (seed, epoch) alone."""
    # Kept as uint8 and scaled per batch: a quarter of the memory of float32 images.
    images, targets = tf.constant(train_images, tf.uint8), tf.constant(targets)
    count = len(train_images)

    def epoch_batches(epoch):
        # Stateless, so the order depends on (seed, epoch) alone, not on TensorFlow's global seed
        # (which whatever ran earlier in the process may have set); a cached network is then the
        # same whoever trained it.
        order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=[seed, epoch])
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def scaled(order):
        return tf.cast(tf.gather(images, order), tf.float32) / 127.5 - 1, tf.gather(targets, order)

    batches = (tf.data.Dataset.range(epochs).flat_map(epoch_batches).map(scaled)
               .prefetch(tf.data.AUTOTUNE))
    model.fit(batches, epochs=epochs, steps_per_epoch=-(-count // batch_size), shuffle=False, verbose=0,
              callbacks=list(callbacks))
    return model


def train_classifier(train_images, train_labels, num_classes, config):
    """Fits a fresh `build_classifier` model on uint8 images and int labels; returns the model."""
    model = build_classifier(train_images.shape[1:], num_classes, config.feature_dim, config.seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    log_epoch = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logger.info(
        'Evaluation classifier epoch %d/%d: training accuracy %.4f', epoch + 1, config.epochs,
        logs['accuracy']))
    return fit_in_stateless_order(model, train_images, np.asarray(train_labels, np.int32), config.epochs,
                                  config.batch_size, config.seed, [log_epoch])


class EvaluationClassifier:
    """A trained classifier plus what is known about it (data name, fingerprint, training)."""

    def __init__(self, model, info):
        self.info = info
        self._features_and_logits = tf.function(keras.Model(
            model.inputs, [model.get_layer(FEATURE_LAYER).output, model.output]))

    def features_and_logits(self, images, batch_size=1000):
        """images [N, H, W, C] (uint8, or floats in [-1, 1]) -> (features float64 [N, D],
        logits float64 [N, K])."""
        features, logits = [], []
        for batch in unit_range_batches(images, batch_size):
            batch_features, batch_logits = self._features_and_logits(batch)
            features.append(batch_features.numpy())
            logits.append(batch_logits.numpy())
        return np.concatenate(features).astype(np.float64), np.concatenate(logits).astype(np.float64)


def fingerprint(images, labels, num_classes, config):
    """A short hash of the training sample and the recipe that trains on it."""
    return cache.fingerprint([RECIPE_VERSION, int(num_classes), dataclasses.asdict(config)],
                             np.asarray(images, np.uint8), np.asarray(labels, np.int32))


def load_or_train(name, images, labels, num_classes, cache_dir=None, config=ClassifierConfig()):
    """The evaluation classifier for uint8 `images` [N, H, W, C] and int `labels` [N] of the data
    called `name`: from the cache (any tf.io.gfile path) when one was trained on the same sample
    with the same recipe, else trained now and cached."""
    if np.asarray(images).dtype != np.uint8:
        raise errors.ConfigError(f'images must be uint8 pixels, got {np.asarray(images).dtype}.')
    key = fingerprint(images, labels, num_classes, config)
    path = cache.entry_path(cache_dir, 'classifiers', name, key)

    def train():
        logger.info('Training the %s evaluation classifier on %d images (%d epochs); it is cached in '
                    '%s for later runs.', name, len(images), config.epochs, path)
        start = time.perf_counter()
        model = train_classifier(images, labels, num_classes, config)
        return model, {'name': name, 'fingerprint': key, 'num_classes': int(num_classes),
                       'image_shape': list(images.shape[1:]), 'train_examples': len(images),
                       'train_seconds': round(time.perf_counter() - start, 1),
                       'config': dataclasses.asdict(config)}

    return EvaluationClassifier(*cache.load_or_train(path, train, MODEL_FILE))
