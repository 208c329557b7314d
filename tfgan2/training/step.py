"""One training step, run through a `tf.distribute` strategy: `n_critic` - 1 updates of the
discriminator alone, then one simultaneous update of both networks from one forward pass (with
n_critic = 1, the TF DCGAN tutorial's step). Every update uses the same real batch and new latents.

One step on N replicas equals one step on one device with the same global batch: each replica
weights its batch-mean losses by its share of the global batch before the optimizers sum the
gradients, takes its rows of the latents drawn for the whole global batch
(`rng.GlobalBatchRows`), and BatchNorm uses the statistics of the global batch
(`networks.batch_norm`). An update whose losses are not all finite is not applied on any replica,
the BatchNorm statistics its forward pass moved are put back, and no later update of the step
is applied. After each applied update the GAN adapts its own state (`GAN.update_state`: the
augmentation probability, LeCam's averages) from the update's global-batch metrics.
"""

import tensorflow as tf

from tfgan2 import errors, rng


class TrainStep:
    """Compiled steps of `gan` updating `state` (a `state.TrainState`) on `strategy`.

    `train_step(images, labels)` runs one step of a distributed batch; it is traced once per
    run (a short last batch does not retrace). `train_steps(iterator, count)` runs up to
    `count` in one call. `run` drives whole runs of steps."""

    def __init__(self, gan, state, strategy, config):
        self.gan, self.state, self.strategy, self.config = gan, state, strategy, config
        self.replicas = strategy.num_replicas_in_sync
        if config.jit_compile and self.replicas > 1:
            raise errors.ConfigError(f'jit_compile=True compiles the step for one device, not {self.replicas} '
                                     f'replicas; drop it (TPUs compile with XLA anyway).')
        # XLA compiles the forward and backward pass, where the time goes; the update and the
        # cross-replica logic around it stay as they are.
        self._gradients = (tf.function(self._losses_and_gradients, jit_compile=True) if config.jit_compile
                           else self._losses_and_gradients)
        self._step = tf.function(self._distributed_step)  # one trace, shared by both entry points
        # The signature of a distributed batch of any size, from an empty dataset of the
        # pipeline's element type.
        empty = tf.data.Dataset.from_tensor_slices(
            (tf.zeros([0, *gan.image_shape]), tf.zeros([0], tf.int32))).batch(config.batch_size)
        self.train_step = tf.function(self._step, input_signature=list(self.distribute(empty).element_spec))
        self.train_steps = tf.function(self._steps_in_one_call)

    def distribute(self, batches):
        """`batches` (of the global batch size) split across the replicas; with several workers
        each reads every worker's share of a batch from the same pipeline and keeps its own."""
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return self.strategy.experimental_distribute_dataset(batches.with_options(options))

    def run(self, batches, steps):
        """Runs up to `steps` steps from the distributed `batches`, yielding after each
        tf.function call (metric sums, last step's metrics, steps run, last step applied).
        With `steps_per_execution` > 1, a call never runs past a checkpoint step."""
        if self.config.steps_per_execution == 1:
            for images, labels in batches:
                metrics, applied = self.train_step(images, labels)
                yield metrics, metrics, 1, applied
            return
        iterator, done, every = iter(batches), 0, self.config.checkpoint_every
        while done < steps:
            count = min(self.config.steps_per_execution, steps - done,
                        every - int(self.state.step.numpy()) % every)
            sums, metrics, ran, applied = self.train_steps(iterator, tf.constant(count))
            done += int(ran)
            yield sums, metrics, int(ran), applied

    def _steps_in_one_call(self, iterator, count):
        """Up to `count` steps in one call, stopping after a step that was not applied."""
        metrics, applied = self._step(*next(iterator))
        sums, done = metrics, tf.constant(1)
        while applied and done < count:
            metrics, applied = self._step(*next(iterator))
            sums = {key: total + metrics[key] for key, total in sums.items()}
            done += 1
        return sums, metrics, done, applied

    def _distributed_step(self, images, labels):
        """Returns (metrics of the global batch, whether the step was applied)."""
        results = self.strategy.run(self._replica_step, args=(images, labels))
        return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], results)

    def _replica_step(self, images, labels):
        # Latents and augmentations depend only on (seed, step, update), so a resumed run draws
        # what an uninterrupted one would.
        step = self.state.step.read_value()
        seeds = tf.random.stateless_uniform([self.config.n_critic], tf.stack(
            [tf.constant(self.config.seed, tf.int64), step]), minval=None, maxval=None, dtype=tf.int64)
        applied = tf.constant(True)
        for update in range(self.config.n_critic):
            with_generator = update == self.config.n_critic - 1
            previous = [tf.identity(v) for v in self._statistics()]  # to undo a bad update
            metrics, g_grads, d_grads = self._gradients(images, labels, seeds[update], step, with_generator)
            finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in metrics.values()])
            applied = tf.distribute.get_replica_context().merge_call(
                self._apply_or_undo, args=(applied, finite, metrics, g_grads, d_grads, previous))
        return metrics, applied

    def _losses_and_gradients(self, images, labels, seed, step, with_generator):
        """One replica's forward and backward pass: (metrics of the global batch, generator
        gradients or None, discriminator gradients), its losses weighted by its share of the batch."""
        sampler, share = rng.StatelessSampler(seed), None
        if self.replicas > 1:
            sampler, share = self._global_batch_rows(seed, tf.shape(images)[0])
        g_optimizer, d_optimizer = self.state.g_optimizer, self.state.d_optimizer
        with tf.GradientTape(persistent=with_generator) as tape:
            metrics = self.gan.compute_losses(images, labels, sampler, step, training=True)
            g_loss, d_loss = metrics['g_loss'], metrics['d_loss']
            if share is not None:
                g_loss, d_loss = g_loss * share, d_loss * share
            g_loss, d_loss = g_optimizer.scale_loss(g_loss), d_optimizer.scale_loss(d_loss)
        d_grads = tape.gradient(d_loss, self.gan.discriminator.trainable_variables)
        g_grads = tape.gradient(g_loss, self.gan.generator.trainable_variables) if with_generator else None
        if share is not None:
            metrics = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, {key: value * share for key, value in metrics.items()})
        return metrics, g_grads, d_grads

    def _global_batch_rows(self, seed, size):
        """This replica's sampler of the global batch's rows, and its share of the global batch."""
        replica = tf.distribute.get_replica_context()
        index = replica.replica_id_in_sync_group
        sizes = replica.all_reduce(tf.distribute.ReduceOp.SUM,
                                   tf.cast(size, tf.float32) * tf.one_hot(index, self.replicas))
        offset = tf.cast(tf.reduce_sum(sizes[:index]), tf.int32)
        global_batch = tf.reduce_sum(sizes)
        sampler = rng.GlobalBatchRows(seed, offset, tf.cast(global_batch, tf.int32))
        return sampler, tf.cast(size, tf.float32) / global_batch

    def _apply_or_undo(self, strategy, proceed, finite, metrics, g_grads, d_grads, previous):
        """In cross-replica context, where the optimizers sum the replicas' gradients: every
        replica applies its update (the generator's too when `g_grads` is given), or, after an
        update that was not applied or with non-finite losses, every replica restores its
        BatchNorm statistics. Returns whether it applied."""
        local = lambda value: strategy.experimental_local_results(value)[0]

        def apply():
            strategy.run(self._apply_gradients, args=(g_grads, d_grads))
            self.gan.update_state({key: local(value) for key, value in metrics.items()},
                                  float(self.config.batch_size))
            if g_grads is not None:
                self.state.step.assign_add(1)
                self.state.update_average()
            return tf.constant(True)

        def undo():
            strategy.run(self._restore_statistics, args=(previous,))
            return tf.constant(False)

        return tf.cond(tf.logical_and(local(proceed), local(finite)), apply, undo)

    def _apply_gradients(self, g_grads, d_grads):
        if g_grads is not None:
            self.state.g_optimizer.apply_gradients(zip(g_grads, self.gan.generator.trainable_variables))
        self.state.d_optimizer.apply_gradients(zip(d_grads, self.gan.discriminator.trainable_variables))

    def _statistics(self):
        """The variables a forward pass in training moves: BatchNorm's moving statistics."""
        return self.gan.generator.non_trainable_weights + self.gan.discriminator.non_trainable_weights

    def _restore_statistics(self, previous):
        for variable, value in zip(self._statistics(), previous):
            variable.assign(value)
