"""Batches of one training epoch, in an order that depends only on (seed, epoch)."""

import numpy as np
import tensorflow as tf

DEFAULT_SHUFFLE_BUFFER = 10_000


def input_pipeline(data, batch_size, seed, epoch=0, skip_batches=0, take_batches=None,
                   shuffle_buffer=DEFAULT_SHUFFLE_BUFFER):
    """One epoch of `data` (an ImageData) as (images float32 [B, H, W, C] in [-1, 1], labels int32
    [B]); at most take_batches batches, of which the first skip_batches are left out (a resumed
    epoch); the last partial batch is kept.

    Data held in memory or read from files is shuffled by a stateless permutation of (seed,
    epoch), so a resumed run sees exactly the batches the uninterrupted one would, whatever
    TensorFlow's global seed, and skipped batches are never read. Streamed data (TFDS datasets
    or tf.data.Datasets too large for memory) is shuffled through a buffer of shuffle_buffer
    images, whose order also depends on TensorFlow's global seed (`tf.random.set_seed`), and
    skipped batches are read and dropped."""
    if batch_size < 1 or skip_batches < 0 or (take_batches is not None and take_batches < 0):
        raise ValueError(f'batch_size={batch_size}, skip_batches={skip_batches}, take_batches='
                         f'{take_batches}: pass batch_size >= 1 and non-negative batch counts.')
    key = np.random.SeedSequence([seed, epoch]).generate_state(2).astype(np.int64)
    if data.gather is not None:
        count = data.num_examples
        end = count if take_batches is None else min(count, take_batches * batch_size)
        with tf.device('/CPU:0'):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(count, dtype=tf.int64), seed=key, alg='philox')[skip_batches * batch_size:end]
        batches = (tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
                   .map(lambda indices: _scaled(*data.gather(indices)), tf.data.AUTOTUNE))
    else:
        batches = (data.elements.shuffle(shuffle_buffer, seed=int(key[0]), reshuffle_each_iteration=False)
                   .batch(batch_size))
        if take_batches is not None:
            batches = batches.take(take_batches)
        batches = batches.skip(skip_batches).map(_scaled, tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def _scaled(images, labels):
    return (tf.cast(images, tf.float32) - 127.5) / 127.5, labels
