"""The evaluation classifier: a small CNN per dataset, trained once on its train split and cached.

Its logits give the classifier score and label accuracy; its penultimate layer is the feature
space of the Fréchet distance (TF-GAN's `mnist_frechet_distance` idea, for any dataset here).
The cache is keyed by dataset name and a fingerprint of the training data and recipe, so a
changed dataset or recipe trains a new classifier instead of silently reusing a stale one.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfgan2 import artifacts, data

# Part of the cache key: bump whenever `build_classifier` or `train_classifier` changes.
RECIPE_VERSION = 2
FEATURE_LAYER = 'features'
MODEL_FILE = 'classifier.keras'
INFO_FILE = 'info.json'


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """How the evaluation classifier is trained; every field is part of its cache key."""
    epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 1e-3
    feature_dim: int = 128
    max_train_examples: int | None = None  # None: the whole train split.
    seed: int = 0


def default_cache_dir():
    """$TFGAN2_CACHE if set, else ~/.cache/tfgan2."""
    return os.environ.get('TFGAN2_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'tfgan2')


def dataset_arrays(info):
    """All (images float32 [-1, 1], labels int32) of a `data.DatasetInfo` split as numpy arrays."""
    images, labels = [], []
    for image_batch, label_batch in info.dataset.batch(8192):
        images.append(image_batch.numpy())
        labels.append(label_batch.numpy())
    return np.concatenate(images), np.concatenate(labels)


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


def train_classifier(train_images, train_labels, num_classes, config):
    """Fits a fresh `build_classifier` model on the arrays; returns the trained keras.Model."""
    model = build_classifier(train_images.shape[1:], num_classes, config.feature_dim, config.seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    images, labels = tf.constant(train_images), tf.constant(train_labels)
    count = len(train_images)

    def epoch_batches(epoch):
        # Stateless, so the order depends on (seed, epoch) alone, not on TensorFlow's global seed
        # (which whatever ran earlier in the process may have set); a cached classifier is then the
        # same whoever trained it.
        order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=[config.seed, epoch])
        return tf.data.Dataset.from_tensor_slices(order).batch(config.batch_size)

    batches = (tf.data.Dataset.range(config.epochs).flat_map(epoch_batches)
               .map(lambda order: (tf.gather(images, order), tf.gather(labels, order)))
               .prefetch(tf.data.AUTOTUNE))
    model.fit(batches, epochs=config.epochs, steps_per_epoch=-(-count // config.batch_size),
              shuffle=False, verbose=2)
    return model


class EvaluationClassifier:
    """A trained classifier plus what is known about it (dataset, test accuracy, fingerprint)."""

    def __init__(self, model, info):
        self.info = info
        self._features_and_logits = tf.function(keras.Model(
            model.inputs, [model.get_layer(FEATURE_LAYER).output, model.output]))

    @property
    def test_accuracy(self):
        return self.info['test_accuracy']

    def features_and_logits(self, images, batch_size=1000):
        """images [N, H, W, C] in [-1, 1] -> (features float64 [N, D], logits float64 [N, K])."""
        features, logits = [], []
        for start in range(0, len(images), batch_size):
            f, l = self._features_and_logits(tf.constant(images[start:start + batch_size], tf.float32))
            features.append(f.numpy())
            logits.append(l.numpy())
        return np.concatenate(features).astype(np.float64), np.concatenate(logits).astype(np.float64)


def _fingerprint(images, labels, config):
    digest = hashlib.sha256()
    digest.update(json.dumps([RECIPE_VERSION, dataclasses.asdict(config)], sort_keys=True).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()[:16]


def _load(path):
    with open(os.path.join(path, INFO_FILE)) as f:
        info = json.load(f)
    return EvaluationClassifier(keras.saving.load_model(os.path.join(path, MODEL_FILE)), info)


def _save_atomically(model, info, path):
    """Writes model and info into a temporary sibling folder, then renames it to `path`; a
    concurrent writer that got there first wins and this copy is dropped."""
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = artifacts.publishable(tempfile.mkdtemp(prefix=f'.{os.path.basename(path)}.', dir=parent))
    try:
        model.save(os.path.join(tmp, MODEL_FILE))
        with open(os.path.join(tmp, INFO_FILE), 'w') as f:
            json.dump(info, f, indent=2)
        try:
            os.rename(tmp, path)
        except OSError:
            if not os.path.isdir(path):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_or_train(dataset_name='fashion_mnist', data_dir=None, cache_dir=None,
                  config=ClassifierConfig(), verbose=True):
    """The evaluation classifier for a dataset: from the cache when one was trained on the same
    data with the same recipe, else trained now (printing its test accuracy) and cached."""
    train_images, train_labels = dataset_arrays(data.load_dataset(dataset_name, data_dir, 'train'))
    if config.max_train_examples:
        train_images = train_images[:config.max_train_examples]
        train_labels = train_labels[:config.max_train_examples]
    fingerprint = _fingerprint(train_images, train_labels, config)
    path = os.path.join(cache_dir or default_cache_dir(), 'classifiers', f'{dataset_name}-{fingerprint}')
    if os.path.isdir(path):
        return _load(path)

    test = data.load_dataset(dataset_name, data_dir, 'test')
    test_images, test_labels = dataset_arrays(test)
    if verbose:
        print(f'Training the {dataset_name} evaluation classifier on {len(train_images)} images '
              f'({config.epochs} epochs); it is cached in {path} for later runs.')
    start = time.perf_counter()
    model = train_classifier(train_images, train_labels, test.num_classes, config)
    _, test_accuracy = model.evaluate(test_images, test_labels, batch_size=1000, verbose=0)
    info = {'dataset': dataset_name, 'fingerprint': fingerprint, 'num_classes': test.num_classes,
            'class_names': test.class_names, 'image_shape': list(test.image_shape),
            'train_examples': len(train_images), 'test_accuracy': float(test_accuracy),
            'train_seconds': round(time.perf_counter() - start, 1), 'config': dataclasses.asdict(config)}
    if verbose:
        print(f'Evaluation classifier: test accuracy {test_accuracy:.4f} '
              f'after {info["train_seconds"]:.0f} s.')
    _save_atomically(model, info, path)
    return _load(path)
