"""The one way latents are drawn: stateless random ops keyed by a seed.

Training seeds a sampler with (run seed, step), serving graphs with the request's seed and
evaluation with its own, so every path draws the same way and a resumed run draws what an
uninterrupted one would. With several replicas, `GlobalBatchRows` draws for the whole global
batch and keeps one replica's rows, so N replicas together draw what one device would.
"""

import tensorflow as tf


class StatelessSampler:
    """`normal`, `uniform` and `truncated_normal` draws; draw i uses the seed (seed, i), so the
    results depend only on `seed` and the order of the draws. The first axis of every shape is
    the batch."""

    def __init__(self, seed):
        self._seed = tf.cast(seed, tf.int64)
        self._draws = 0

    def _next_seed(self):
        self._draws += 1
        return tf.stack([self._seed, tf.constant(self._draws, tf.int64)])

    def draw(self, distribution, shape, **kwargs):
        """One draw of `distribution` ('normal', 'uniform' or 'truncated_normal')."""
        op = {'normal': tf.random.stateless_normal, 'uniform': tf.random.stateless_uniform,
              'truncated_normal': tf.random.stateless_truncated_normal}[distribution]
        return op(shape, self._next_seed(), **kwargs)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=tf.float32):
        return self.draw('normal', shape, mean=mean, stddev=stddev, dtype=dtype)

    def uniform(self, shape, minval=0, maxval=None, dtype=tf.float32):
        return self.draw('uniform', shape, minval=minval, maxval=maxval, dtype=dtype)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=tf.float32):
        return self.draw('truncated_normal', shape, mean=mean, stddev=stddev, dtype=dtype)


class GlobalBatchRows(StatelessSampler):
    """A sampler for one replica: every draw is made for the whole global batch and cut to this
    replica's rows [offset, offset + rows)."""

    def __init__(self, seed, offset, global_batch):
        super().__init__(seed)
        self._offset, self._global_batch = offset, global_batch

    def draw(self, distribution, shape, **kwargs):
        drawn = super().draw(distribution, [self._global_batch, *shape[1:]], **kwargs)
        return drawn[self._offset:self._offset + shape[0]]
