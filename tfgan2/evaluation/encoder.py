"""The self-supervised encoder: a small CNN trained on the data's own images, without labels, whose
features measure generated images where no classifier can (unlabeled data, offline).

It learns by contrast (SimCLR, Chen et al. 2020): two random views of each image (crop, flip,
brightness and contrast, colour gains on RGB, some pixel noise) must map to nearby features and
other images' views to distant ones. Blur is left out of the views so that the features stay
sensitive to it; mild noise is in, because without it the features weigh faint pixel noise far
above what the classifier's do. Training is stateless: the image order depends on (seed, epoch)
and each view on (seed, step), so one recipe and one sample always give the same encoder. It is
trained once per dataset and cached like the evaluation classifier (`tfgan2.evaluation.cache`).
Why this recipe, and what it costs: benchmarks/RESULTS.md ("Offline quality for unlabeled data").
"""

import dataclasses
import logging
import math
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfgan2 import errors
from tfgan2.evaluation import cache, classifier

logger = logging.getLogger(__name__)

# Part of the cache key: bump whenever `build_encoder`, `augment` or `train_encoder` changes.
RECIPE_VERSION = 1
FEATURE_LAYER = 'features'
REPRESENTATION_LAYER = 'representation'
MODEL_FILE = 'encoder.keras'


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """How the encoder is trained; every field is part of its cache key."""
    max_width: int = 128  # Filters of the last stage; each earlier one has half as many.
    feature_dim: int = 128
    projection_dim: int = 64
    temperature: float = 0.2
    batch_size: int = 256  # Images per step (each seen in two views).
    learning_rate: float = 1e-3
    steps: int = 600  # At most; small data stops after `max_epochs`.
    max_epochs: int = 50
    min_crop_area: float = 0.3
    jitter: float = 0.3  # Brightness shift and contrast (and colour gain) range, +-.
    view_noise: float = 0.15  # At most this standard deviation of pixel noise (in [-1, 1] units).
    max_train_examples: int = 60000  # A deterministic sample of larger data.
    seed: int = 0


def stage_widths(image_size, max_width):
    """Filters per stride-2 stage: as many stages as halve the image to 4 px or less (28 and
    32 px: three, 64 px: four), the last with `max_width` filters, each earlier with half."""
    stages = max(1, math.ceil(math.log2(image_size / 4)))
    return [max(1, max_width >> (stages - 1 - i)) for i in range(stages)]


def build_encoder(image_shape, config):
    """Stride-2 convolution stages, global average pooling and a linear `representation` that
    the projection head trains on; the `features` are its directions (unit length)."""
    init = lambda offset: keras.initializers.HeNormal(seed=config.seed + offset)
    inputs = keras.Input(image_shape, name='images')
    x = inputs
    widths = stage_widths(max(image_shape[:2]), config.max_width)
    for i, width in enumerate(widths):
        x = layers.Conv2D(width, 3, strides=2, padding='same', activation='relu', kernel_initializer=init(i))(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(config.feature_dim, kernel_initializer=init(len(widths)), name=REPRESENTATION_LAYER)(x)
    features = layers.UnitNormalization(name=FEATURE_LAYER)(x)
    return keras.Model(inputs, features, name='evaluation_encoder')


def build_projection(config):
    """SimCLR's projection head: the loss is computed on its outputs, the features are taken
    before it (they keep what the loss teaches to ignore)."""
    init = lambda offset: keras.initializers.HeNormal(seed=config.seed + 100 + offset)
    return keras.Sequential([keras.Input((config.feature_dim,)),
                             layers.Dense(config.feature_dim, activation='relu', kernel_initializer=init(0)),
                             layers.Dense(config.projection_dim, kernel_initializer=init(1))],
                            name='projection')


def augment(images, seed, config):
    """A random view of each image of images [B, H, W, C] in [-1, 1], drawn statelessly from
    `seed` (int [2]): a crop of `min_crop_area` to all of the image (aspect 3:4 to 4:3, mirrored
    half the time) resized back, brightness and contrast (and per-channel gains on RGB) within
    +-`jitter`, and Gaussian pixel noise of a standard deviation up to `view_noise`."""
    batch = tf.shape(images)[0]
    height, width, channels = images.shape[1:]
    seeds = tf.random.experimental.stateless_split(seed, 8)
    uniform = lambda i, low, high: tf.random.stateless_uniform([batch], seeds[i], low, high)
    area = uniform(0, config.min_crop_area, 1.0)
    aspect = tf.exp(uniform(1, math.log(3 / 4), math.log(4 / 3)))
    crop_h, crop_w = tf.minimum(tf.sqrt(area / aspect), 1.0), tf.minimum(tf.sqrt(area * aspect), 1.0)
    top, left = uniform(2, 0.0, 1.0) * (1 - crop_h), uniform(3, 0.0, 1.0) * (1 - crop_w)
    mirrored = tf.random.stateless_uniform([batch], seeds[4]) < 0.5
    x0, x1 = tf.where(mirrored, left + crop_w, left), tf.where(mirrored, left, left + crop_w)
    # crop_and_resize samples a box from its right edge to its left when x1 < x0: the mirror image.
    boxes = tf.stack([top, x0, top + crop_h, x1], axis=1)
    views = tf.image.crop_and_resize(images, boxes, tf.range(batch), (height, width))
    jitter = tf.random.stateless_uniform([batch, 1, 1, 2 + channels], seeds[5], -config.jitter, config.jitter)
    mean = tf.reduce_mean(views, axis=[1, 2, 3], keepdims=True)
    views = (views - mean) * (1 + jitter[..., :1]) + mean + jitter[..., 1:2]
    if channels > 1:
        views = views * (1 + jitter[..., 2:])
    if config.view_noise:
        views += (tf.random.stateless_uniform([batch, 1, 1, 1], seeds[6], 0, config.view_noise)
                  * tf.random.stateless_normal(tf.shape(views), seeds[7]))
    return tf.clip_by_value(views, -1.0, 1.0)


def contrastive_loss(projections, temperature):
    """NT-Xent over projections [2B, P] whose row i and row i + B are views of one image: each
    row must pick its partner out of the other 2B - 1 rows by cosine similarity."""
    z = tf.math.l2_normalize(projections, axis=1)
    count = tf.shape(z)[0]
    similarity = tf.matmul(z, z, transpose_b=True) / temperature
    similarity -= 1e9 * tf.eye(count)  # A row is not its own partner.
    partners = (tf.range(count) + count // 2) % count
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(partners, similarity))


def schedule(count, config):
    """(batch size, steps per epoch, steps) for `count` training images."""
    batch_size = min(config.batch_size, count)
    per_epoch = count // batch_size
    return batch_size, per_epoch, min(config.steps, config.max_epochs * per_epoch)


def train_encoder(train_images, config):
    """Fits a fresh `build_encoder` model to uint8 images [N, H, W, C] by contrast; returns it."""
    encoder = build_encoder(train_images.shape[1:], config)
    representation = keras.Model(encoder.inputs, encoder.get_layer(REPRESENTATION_LAYER).output)
    projection = build_projection(config)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    images = tf.constant(train_images, tf.uint8)
    batch_size, per_epoch, steps = schedule(len(train_images), config)
    variables = representation.trainable_variables + projection.trainable_variables

    @tf.function
    def train_step(indices, step):
        batch = tf.cast(tf.gather(images, indices), tf.float32) / 127.5 - 1
        views = tf.concat([augment(batch, tf.stack([step, 2 * config.seed]), config),
                           augment(batch, tf.stack([step, 2 * config.seed + 1]), config)], axis=0)
        with tf.GradientTape() as tape:
            loss = contrastive_loss(projection(representation(views, training=True), training=True),
                                    config.temperature)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    losses = []
    for step in range(steps):
        epoch, position = divmod(step, per_epoch)
        if position == 0:
            order = tf.random.experimental.stateless_shuffle(tf.range(len(train_images)),
                                                             seed=[config.seed, epoch])
        losses.append(float(train_step(order[position * batch_size:(position + 1) * batch_size],
                                       tf.constant(step, tf.int64))))
        if (step + 1) % 100 == 0 or step + 1 == steps:
            logger.info('Evaluation encoder step %d/%d: contrastive loss %.3f', step + 1, steps,
                        np.mean(losses[-100:]))
    return encoder


class EvaluationEncoder:
    """A trained encoder plus what is known about it (data name, fingerprint, training)."""

    def __init__(self, model, info):
        self.info = info
        self._features = tf.function(model)

    def features(self, images, batch_size=1000):
        """images [N, H, W, C] (uint8, or floats in [-1, 1]) -> features float64 [N, D]."""
        return np.concatenate([self._features(batch).numpy() for batch in
                               classifier.unit_range_batches(images, batch_size)]).astype(np.float64)


def fingerprint(images, config):
    """A short hash of the training sample and the recipe that trains on it."""
    return cache.fingerprint([RECIPE_VERSION, dataclasses.asdict(config)], np.asarray(images, np.uint8))


def load_or_train(name, images, cache_dir=None, config=EncoderConfig()):
    """The evaluation encoder for uint8 `images` [N, H, W, C] of the data called `name`: from the
    cache (any tf.io.gfile path) when one was trained on the same sample with the same recipe,
    else trained now and cached."""
    if np.asarray(images).dtype != np.uint8:
        raise errors.ConfigError(f'images must be uint8 pixels, got {np.asarray(images).dtype}.')
    key = fingerprint(images, config)
    path = cache.entry_path(cache_dir, 'encoders', name, key)

    def train():
        steps = schedule(len(images), config)[2]
        logger.info('Training the %s evaluation encoder on %d images without labels (%d steps); it is '
                    'cached in %s for later runs.', name, len(images), steps, path)
        start_cpu, start = time.process_time(), time.perf_counter()
        model = train_encoder(images, config)
        return model, {'name': name, 'fingerprint': key, 'image_shape': list(images.shape[1:]),
                       'train_examples': len(images), 'train_steps': steps,
                       'train_seconds': round(time.perf_counter() - start, 1),
                       'train_cpu_seconds': round(time.process_time() - start_cpu, 1),
                       'config': dataclasses.asdict(config)}

    return EvaluationEncoder(*cache.load_or_train(path, train, MODEL_FILE))
