"""Batches of one training epoch, in an order that depends only on (seed, epoch)."""

import numpy as np
import tensorflow as tf

from tfgan2 import errors
from tfgan2.data.image_data import ImageData

DEFAULT_SHUFFLE_BUFFER = 10_000


def input_pipeline(data: ImageData, batch_size: int, seed: int, epoch: int = 0, start: int = 0,
                   stop: int | None = None, shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER) -> tf.data.Dataset:
    """One epoch of `data` (an ImageData) as (images float32 [B, H, W, C] in [-1, 1], labels int32
    [B]): the images at positions [start, stop) of the epoch's order, in batches (the last one
    partial). An epoch of `stop` images resumed after `start` of them goes on with exactly the
    images the uninterrupted one would have seen, whatever the batch size.

    Data held in memory or read from files is shuffled by a stateless permutation of (seed,
    epoch), so the order does not depend on TensorFlow's global seed, and skipped images are
    never read. Streamed data (TFDS datasets or tf.data.Datasets too large for memory) is
    shuffled through a buffer of shuffle_buffer images, whose order also depends on TensorFlow's
    global seed (`tf.random.set_seed`), and skipped images are read and dropped."""
    stop = data.num_examples if stop is None else min(stop, data.num_examples)
    if batch_size < 1 or not 0 <= start <= stop:
        raise errors.DataError(f'batch_size={batch_size}, start={start}, stop={stop}: pass batch_size >= 1 '
                               f'and 0 <= start <= stop.')
    key = _epoch_key(seed, epoch)
    if data.gather is not None:
        order = _epoch_order(data, key)[start:stop]
        batches = (tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
                   .map(lambda indices: _scaled(*data.gather(indices)), tf.data.AUTOTUNE))
    else:
        batches = (data.elements.shuffle(shuffle_buffer, seed=int(key[0]), reshuffle_each_iteration=False)
                   .take(stop).skip(start).batch(batch_size).map(_scaled, tf.data.AUTOTUNE))
    return batches.prefetch(tf.data.AUTOTUNE)


def unreadable_image(data, seed, epoch, start, count):
    """Why the first image file that cannot be read among the `count` after `start` in the
    order of `epoch` cannot be (data read file by file), or None: what to say when reading
    them failed mid-epoch."""
    if data.find_unreadable is None:
        return None
    return data.find_unreadable(_epoch_order(data, _epoch_key(seed, epoch))[start:start + count].numpy())


def _epoch_key(seed, epoch):
    return np.random.SeedSequence([seed, epoch]).generate_state(2).astype(np.int64)


def _epoch_order(data, key):
    """The order in which an epoch reads data that can be read in any order (indices)."""
    with tf.device('/CPU:0'):
        return tf.random.experimental.stateless_shuffle(tf.range(data.num_examples, dtype=tf.int64), seed=key,
                                                        alg='philox')


def _scaled(images, labels):
    return (tf.cast(images, tf.float32) - 127.5) / 127.5, labels
