"""The one training loop every GAN shares: a tf.function step run through a `tf.distribute`
strategy, checkpoints with exact resume, and per-epoch artifacts (grid, GIF, history, plot,
TensorBoard).

One step on N replicas equals one step on one device with the same global batch: each replica
weights its batch-mean losses by its share of the global batch before gradients are summed,
takes its rows of the random draws made for the whole global batch, and BatchNorm uses the
statistics of the global batch (`networks.batch_norm`).
"""

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import artifacts, data, models
from tfgan2.models.base import StatelessRandom


@dataclasses.dataclass
class TrainConfig:
    model_dir: str
    epochs: int = 5
    batch_size: int = 64  # global: split across the strategy's replicas.
    # Adam without momentum and with a short second-moment memory, at 5x the DCGAN paper's
    # step: 1.4-2.5x lower Frechet distance for every model after 8 CPU-minutes than the
    # paper's (2e-4, 0.5, 0.999); see benchmarks/RESULTS.md.
    g_learning_rate: float = 1e-3
    d_learning_rate: float = 1e-3
    g_beta_1: float = 0.0
    d_beta_1: float = 0.0
    beta_2: float = 0.99
    # Decay of the exponential moving average of the generator's weights, which previews,
    # evaluation and exports use (0: the trained weights themselves). The average damps the
    # oscillation of adversarial training: after 8 CPU-minutes on Fashion-MNIST, 2-20% lower
    # Frechet distance than the trained weights of the same run in 14 runs of 15 (README).
    ema_decay: float = 0.99
    seed: int = 0
    steps_per_epoch: int | None = None  # None: the whole dataset each epoch.
    checkpoint_every: int = 200  # steps; an epoch end always saves too.
    keep_checkpoints: int = 3
    log_every: int = 20  # steps between TensorBoard scalars.
    jit_compile: bool = False  # compile the step with XLA (one replica only).
    steps_per_execution: int = 1  # steps per tf.function call; more cuts per-step Python overhead.
    verbose: bool = True


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the weights of the last good step are kept."""


def _seed_states(model):
    """The RNG states of layers such as Dropout: Keras tracks them in `variables` but not in
    `weights`, and tf.train.Checkpoint misses them unless listed; exact resume needs them."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _inner_optimizer(optimizer):
    """The optimizer whose state is checkpointed as `g_optimizer`/`d_optimizer`: the same with
    or without loss scaling, so a run can resume in another precision. The loss scale of a
    float16 run is saved beside it, as `loss_scale`."""
    return getattr(optimizer, 'inner_optimizer', optimizer)


class _GlobalBatchRows:
    """The sampling methods GANs use (`normal`, `uniform`), drawing for the whole global batch
    and keeping one replica's rows, so N replicas together draw what one device would. The
    first axis of every draw is the batch, as in `GAN.sample_latent`."""

    def __init__(self, random, offset, global_batch):
        self._random, self._offset, self._global_batch = random, offset, global_batch

    def _rows(self, draw, shape, *args, **kwargs):
        drawn = draw([self._global_batch, *shape[1:]], *args, **kwargs)
        return drawn[self._offset:self._offset + shape[0]]

    def normal(self, shape, *args, **kwargs):
        return self._rows(self._random.normal, shape, *args, **kwargs)

    def uniform(self, shape, *args, **kwargs):
        return self._rows(self._random.uniform, shape, *args, **kwargs)


class Trainer:
    """Trains `gan` on a `data.DatasetInfo`, writing everything under `config.model_dir`.

    With a `tf.distribute` strategy, build `gan` inside `strategy.scope()` and pass the
    strategy; with several workers, only the chief writes the run's files."""

    def __init__(self, gan, config, strategy=None):
        self.gan, self.config = gan, config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        self._check_setup()
        with self.strategy.scope():
            self.g_optimizer = self._optimizer(config.g_learning_rate, config.g_beta_1)
            self.d_optimizer = self._optimizer(config.d_learning_rate, config.d_beta_1)
            self.g_optimizer.build(gan.generator.trainable_variables)
            self.d_optimizer.build(gan.discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, name='step')
            self.epoch = tf.Variable(0, dtype=tf.int64, name='epoch')  # epochs completed
            self.preview_noise = tf.Variable(
                tf.random.stateless_normal([gan.preview_noise_count(), gan.noise_dim], [config.seed, 1]),
                trainable=False, name='preview_noise')
            # Warms up as min(decay, (1 + step) / (10 + step)): early averages forget the initial weights.
            self.average = (tf.train.ExponentialMovingAverage(config.ema_decay, num_updates=self.step)
                            if config.ema_decay else None)
            if self.average:
                self.average.apply(self._generator_variables())  # creates the averages, equal to the weights
        self._checkpointed = dict(
            generator=gan.generator, discriminator=gan.discriminator,
            g_optimizer=_inner_optimizer(self.g_optimizer), d_optimizer=_inner_optimizer(self.d_optimizer),
            step=self.step, epoch=self.epoch, preview_noise=self.preview_noise,
            layer_seeds=_seed_states(gan.generator) + _seed_states(gan.discriminator))
        if self.average:
            # Listed in the order of `generator.weights`, which `models.load_gan` restores them into.
            self._checkpointed[models.AVERAGE_CHECKPOINT_KEY] = self._averages()
        if isinstance(self.g_optimizer, keras.optimizers.LossScaleOptimizer):
            self._checkpointed['loss_scale'] = [
                v for optimizer in (self.g_optimizer, self.d_optimizer)
                for v in (optimizer.dynamic_scale, optimizer.step_counter)]
        self.checkpoint = tf.train.Checkpoint(**self._checkpointed)
        # Every worker saves (as tf.distribute requires); only the chief's checkpoints are kept.
        self.is_chief = self.strategy.extended.should_checkpoint
        self.checkpoint_dir = os.path.join(config.model_dir, 'checkpoints')
        self.manager = tf.train.CheckpointManager(
            self.checkpoint,
            self.checkpoint_dir if self.is_chief else tempfile.mkdtemp(prefix='tfgan2-worker-'),
            max_to_keep=config.keep_checkpoints if self.is_chief else 1)
        self.image_dir = os.path.join(config.model_dir, 'images')
        self.history_path = os.path.join(config.model_dir, 'history.csv')
        self.gif_path = os.path.join(config.model_dir, 'training.gif')
        self.writer = (tf.summary.create_file_writer(os.path.join(config.model_dir, 'logs'))
                       if self.is_chief else tf.summary.create_noop_writer())
        # XLA compiles the forward and backward pass, where the time goes; the update and the
        # cross-replica logic around it stay as they are.
        self._gradients = (tf.function(self._losses_and_gradients, jit_compile=True) if config.jit_compile
                           else self._losses_and_gradients)
        # One trace, shared by `train_step` and every iteration of `train_steps`.
        self._step = tf.function(self._distributed_step)
        # The signature of a (distributed) batch with any number of images: a short last batch
        # does not retrace. An empty dataset of the pipeline's element type yields it.
        empty = tf.data.Dataset.from_tensor_slices(
            (tf.zeros([0, *gan.image_shape]), tf.zeros([0], tf.int32))).batch(config.batch_size)
        self.train_step = tf.function(self._step, input_signature=list(self._distribute(empty).element_spec))
        self.train_steps = tf.function(self._train_steps)

    def _check_setup(self):
        """Fails clearly on a setup that cannot train correctly."""
        variable = self.gan.generator.variables[0]
        if not self.strategy.extended.variable_created_in_scope(getattr(variable, 'value', variable)):
            raise ValueError(f'The GAN was built outside the scope of {type(self.strategy).__name__}; '
                             f'build it inside `with strategy.scope():` and pass that strategy.')
        if self.config.jit_compile and self.replicas > 1:
            raise ValueError(f'--jit_compile compiles the step for one device, not {self.replicas} '
                             f'replicas; drop it (TPUs compile with XLA anyway).')
        if not 0 <= self.config.ema_decay < 1:
            raise ValueError(f'ema_decay={self.config.ema_decay}: use a decay in [0, 1), e.g. 0.99 '
                             f'(0 turns the moving average of the generator off).')
        if self.config.steps_per_execution < 1:
            raise ValueError(f'steps_per_execution={self.config.steps_per_execution}: use 1 or more.')

    def _optimizer(self, learning_rate, beta_1):
        """Adam, with dynamic loss scaling when the networks compute in float16."""
        adam = keras.optimizers.Adam(learning_rate, beta_1, self.config.beta_2)
        if self.gan.generator.dtype_policy.compute_dtype == 'float16':
            return keras.optimizers.LossScaleOptimizer(adam)
        return adam

    def _distribute(self, batches):
        """`batches` (of the global batch size) split across the replicas; with several workers
        each reads every worker's share of a batch from the same pipeline and keeps its own."""
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return self.strategy.experimental_distribute_dataset(batches.with_options(options))

    def restore(self):
        """Restores the latest checkpoint if there is one; returns its path or None."""
        path = tf.train.latest_checkpoint(self.checkpoint_dir)
        if not path:
            return None
        saved = models.saved_objects(path)
        missing = sorted(set(self._checkpointed) - saved - {'loss_scale', models.AVERAGE_CHECKPOINT_KEY})
        if missing:
            raise ValueError(
                f'{path} was written by an older tfgan2, which did not save {", ".join(missing)}, so '
                f'training cannot resume from it exactly. Train in a new --model_dir; this one is left '
                f'as it is.')
        # A run without loss scaling (float32, bfloat16) goes on in float16 from a fresh loss scale.
        objects = {name: value for name, value in self._checkpointed.items() if name in saved}
        try:
            tf.train.Checkpoint(**objects).restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as e:
            raise ValueError(
                f'{path} does not fit this model ({type(e).__name__}: {str(e).splitlines()[0]}). '
                f'It was written with other --model/--dataset/width flags: rerun with those, '
                f'or use a new --model_dir.') from None
        if self.average and models.AVERAGE_CHECKPOINT_KEY not in saved:
            # Trained without averaging so far: the average starts from the restored weights.
            for average, weight in zip(self._averages(), self.gan.generator.weights):
                average.assign(weight)
        return path

    def _generator_variables(self):
        """The generator's weights as the tf.Variables behind Keras's variables, which tf.train takes."""
        return [getattr(weight, 'value', weight) for weight in self.gan.generator.weights]

    def _averages(self):
        """The moving averages of the generator's weights, in the order of `generator.weights`."""
        return [self.average.average(variable) for variable in self._generator_variables()]

    @contextlib.contextmanager
    def averaged_generator(self):
        """Within the block, the generator holds the moving average of its weights (as previews,
        evaluation and exports see it); after it, its trained weights again."""
        if not self.average:
            yield
            return
        weights = self.gan.generator.weights
        trained = [tf.identity(weight) for weight in weights]
        for weight, average in zip(weights, self._averages()):
            weight.assign(average)
        try:
            yield
        finally:
            for weight, value in zip(weights, trained):
                weight.assign(value)

    def _distributed_step(self, images, labels):
        """One simultaneous update of both networks on every replica; skipped entirely if any
        loss is not finite. Returns (metrics of the global batch, whether it was applied)."""
        results = self.strategy.run(self._replica_step, args=(images, labels))
        return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], results)

    def _replica_step(self, images, labels):
        """One replica's part of a step: its losses and gradients, then, all replicas agreeing
        on whether the losses are finite, the update or the undo of the BN statistics."""
        # Noise depends only on (seed, step), so a resumed run draws what an uninterrupted one would.
        seed = tf.random.stateless_uniform(
            [], tf.stack([tf.constant(self.config.seed, tf.int64), self.step.read_value()]),
            minval=None, maxval=None, dtype=tf.int64)
        previous = [tf.identity(v) for v in self._statistics()]  # to undo a bad step
        metrics, g_grads, d_grads = self._gradients(images, labels, seed)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in metrics.values()])
        applied = tf.distribute.get_replica_context().merge_call(
            self._apply_or_undo, args=(finite, g_grads, d_grads, previous))
        return metrics, applied

    def _losses_and_gradients(self, images, labels, seed):
        """One replica's forward and backward pass, returning (metrics, generator gradients,
        discriminator gradients). With several replicas, it draws its rows of the global batch's
        noise, weights its losses by its share of the global batch (the optimizers then sum the
        gradients of all replicas), and returns the metrics of the global batch."""
        gan, random, share = self.gan, StatelessRandom(seed), None
        if self.replicas > 1:
            random, share = self._global_batch_share(random, tf.shape(images)[0])
        with tf.GradientTape(persistent=True) as tape:
            metrics = gan.compute_losses(images, labels, random, training=True)
            g_loss, d_loss = metrics['g_loss'], metrics['d_loss']
            if share is not None:
                g_loss, d_loss = g_loss * share, d_loss * share
            g_loss, d_loss = self.g_optimizer.scale_loss(g_loss), self.d_optimizer.scale_loss(d_loss)
        g_grads = tape.gradient(g_loss, gan.generator.trainable_variables)
        d_grads = tape.gradient(d_loss, gan.discriminator.trainable_variables)
        if share is not None:
            metrics = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, {key: value * share for key, value in metrics.items()})
        return metrics, g_grads, d_grads

    def _global_batch_share(self, random, size):
        """Draws of `random` cut to this replica's rows of the global batch, and its share of it."""
        replica = tf.distribute.get_replica_context()
        sizes = replica.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(size, tf.float32) * tf.one_hot(
            replica.replica_id_in_sync_group, self.replicas))
        offset = tf.cast(tf.reduce_sum(sizes[:replica.replica_id_in_sync_group]), tf.int32)
        global_batch = tf.reduce_sum(sizes)
        rows = _GlobalBatchRows(random, offset, tf.cast(global_batch, tf.int32))
        return rows, tf.cast(size, tf.float32) / global_batch

    def _apply_or_undo(self, strategy, finite, g_grads, d_grads, previous):
        """In cross-replica context, where a branch may hold the optimizers' cross-replica sums:
        every replica applies its gradients, or every replica restores its BN statistics."""
        def apply():
            strategy.run(self._apply_gradients, args=(g_grads, d_grads))
            self.step.assign_add(1)
            if self.average:
                self.average.apply(self._generator_variables())
            return tf.constant(True)

        def undo():
            strategy.run(self._restore_statistics, args=(previous,))
            return tf.constant(False)

        return tf.cond(strategy.experimental_local_results(finite)[0], apply, undo)

    def _apply_gradients(self, g_grads, d_grads):
        self.g_optimizer.apply_gradients(zip(g_grads, self.gan.generator.trainable_variables))
        self.d_optimizer.apply_gradients(zip(d_grads, self.gan.discriminator.trainable_variables))

    def _statistics(self):
        """The variables a forward pass in training moves: BatchNorm's moving statistics."""
        return self.gan.generator.non_trainable_weights + self.gan.discriminator.non_trainable_weights

    def _restore_statistics(self, previous):
        for variable, value in zip(self._statistics(), previous):
            variable.assign(value)

    def _train_steps(self, iterator, count):
        """Up to `count` steps from `iterator` in one call, stopping after a step that was not
        applied. Returns (metric sums, last step's metrics, steps run, last step applied)."""
        metrics, applied = self._step(*next(iterator))
        sums, done = metrics, tf.constant(1)
        while applied and done < count:
            metrics, applied = self._step(*next(iterator))
            sums = {key: total + metrics[key] for key, total in sums.items()}
            done += 1
        return sums, metrics, done, applied

    def preview_grids(self):
        """{name: uint8 grid}: the main preview ('epoch') first, then the GAN's extra ones."""
        previews = {'epoch': self.gan.preview_latent(self.preview_noise),
                    **self.gan.extra_previews(self.preview_noise)}
        return {name: artifacts.image_grid(self.gan.generate(latent, training=False).numpy(), rows)
                for name, (latent, rows) in previews.items()}

    def _check_spec(self, dataset_info):
        """Records how the GAN was built and on what (for export and evaluation); refuses to
        resume a run that was built differently."""
        spec = {**self.gan.spec, 'dataset': dataset_info.name, 'class_names': dataset_info.class_names}
        path = os.path.join(self.config.model_dir, models.SPEC_FILE)
        if os.path.exists(path):
            saved = models.read_spec(self.config.model_dir)
            if saved != spec:
                differences = ', '.join(
                    f'{key} {saved["hyperparameters"].get(key)} (asked: {spec["hyperparameters"].get(key)})'
                    for key in sorted({*saved['hyperparameters'], *spec['hyperparameters']})
                    if saved['hyperparameters'].get(key) != spec['hyperparameters'].get(key))
                raise ValueError(f'{self.config.model_dir} holds a run of {saved}, not {spec}'
                                 f'{"; it differs in " + differences if differences else ""}. Rerun with '
                                 f'the flags of that run to resume it, or use a new --model_dir.')
        elif self.is_chief:
            with artifacts.atomic_path(path) as tmp, open(tmp, 'w') as f:
                json.dump(spec, f, indent=2)

    def _describe_setup(self):
        """How the steps run, for the log: global batch and replicas, precision, XLA, fusion."""
        config = self.config
        parts = [f'batch {config.batch_size}']
        if self.replicas > 1:
            low, high = config.batch_size // self.replicas, -(-config.batch_size // self.replicas)
            per_replica = f'{low}' if low == high else f'{low}-{high}'
            parts = [f'global batch {config.batch_size} = {self.replicas} replicas x {per_replica} '
                     f'({type(self.strategy).__name__})']
        policy = self.gan.generator.dtype_policy.name
        if policy != 'float32':
            parts.append(policy)
        if config.jit_compile:
            parts.append('XLA')
        if config.steps_per_execution > 1:
            parts.append(f'{config.steps_per_execution} steps per call')
        return ', '.join(parts)

    def fit(self, dataset_info, on_epoch_end=None):
        """Trains until `config.epochs` epochs are complete, resuming from the latest checkpoint.

        `on_epoch_end(epoch)`, if given, returns a dict of extra figures (e.g. quality metrics)
        recorded with that epoch's losses in the history, its plot and TensorBoard (on the chief)."""
        config = self.config
        if self.is_chief:
            os.makedirs(config.model_dir, exist_ok=True)
        self._check_spec(dataset_info)
        restored = self.restore()
        full_epoch = -(-dataset_info.num_examples // config.batch_size)
        steps_per_epoch = min(config.steps_per_epoch or full_epoch, full_epoch)
        self._check_batches_fill_replicas(dataset_info.num_examples, steps_per_epoch, full_epoch)
        history = [row for row in artifacts.read_history(self.history_path)
                   if row['epoch'] <= int(self.epoch.numpy())] if self.is_chief else []
        if config.verbose:
            state = (f'resumed from {restored} at epoch {int(self.epoch.numpy())}, step {int(self.step.numpy())}'
                     if restored else 'starting fresh')
            print(f'{self.gan.name} on {dataset_info.source}: {dataset_info.num_examples} images '
                  f'{dataset_info.image_shape}, {dataset_info.num_classes} classes; '
                  f'{self._describe_setup()}, {steps_per_epoch} steps/epoch; {state}.')
        try:
            while int(self.epoch.numpy()) < config.epochs:
                epoch = int(self.epoch.numpy())
                done_in_epoch = min(max(int(self.step.numpy()) - epoch * steps_per_epoch, 0), steps_per_epoch)
                batches = data.input_pipeline(dataset_info.dataset, config.batch_size, config.seed, epoch,
                                              skip_batches=done_in_epoch, take_batches=steps_per_epoch)
                sums = self._run_epoch(self._distribute(batches), epoch, done_in_epoch, steps_per_epoch,
                                       dataset_info.num_examples)
                self.epoch.assign_add(1)
                with self.averaged_generator():
                    if self.is_chief:
                        extra = on_epoch_end(epoch + 1) if on_epoch_end else {}
                        history.append({'epoch': epoch + 1, 'step': int(self.step.numpy()), **sums, **extra})
                        self._write_epoch_artifacts(epoch + 1, history)
                self.manager.save(checkpoint_number=self.step, check_interval=False)
        finally:
            if not self.is_chief:
                shutil.rmtree(self.manager.directory, ignore_errors=True)
        return history

    def _check_batches_fill_replicas(self, num_examples, steps_per_epoch, full_epoch):
        """Fails clearly when a batch would leave a replica without examples (TensorFlow's CPU
        convolutions reject empty batches); the split is even, so that needs fewer than N."""
        batch_size = self.config.batch_size
        smallest = min(batch_size, num_examples - (steps_per_epoch - 1) * batch_size)
        if smallest < self.replicas:
            raise ValueError(
                f'A batch of {smallest} images cannot feed {self.replicas} replicas. Use a --batch_size of '
                f'at least {self.replicas} that leaves a last batch (images % batch size, now '
                f'{num_examples % batch_size}) of 0 or at least {self.replicas}, or a --steps_per_epoch '
                f'below {full_epoch}.')

    def _executions(self, batches, steps):
        """Runs `steps` steps from `batches`, yielding after each tf.function call (metric sums,
        last step's metrics, steps run, last step applied). Calls end at checkpoint steps."""
        config = self.config
        if config.steps_per_execution == 1:
            for images, labels in batches:
                metrics, applied = self.train_step(images, labels)
                yield metrics, metrics, 1, applied
            return
        iterator, done = iter(batches), 0
        while done < steps:
            to_checkpoint = config.checkpoint_every - int(self.step.numpy()) % config.checkpoint_every
            count = min(config.steps_per_execution, steps - done, to_checkpoint)
            sums, metrics, ran, applied = self.train_steps(iterator, tf.constant(count))
            done += int(ran)
            yield sums, metrics, int(ran), applied

    def _run_epoch(self, batches, epoch, done_in_epoch, steps_per_epoch, num_examples):
        """Runs the steps of one epoch; returns mean metrics and images/s over the steps run."""
        config = self.config
        # A live bar on terminals; one line per epoch in logs and CI.
        verbosity = (1 if sys.stdout.isatty() else 2) if config.verbose else 0
        progbar = keras.utils.Progbar(steps_per_epoch, stateful_metrics=['img/s'], verbose=verbosity)
        if config.verbose:
            print(f'Epoch {epoch + 1}/{config.epochs}')
        progbar.update(done_in_epoch)
        totals, count, images_seen, start = {}, 0, 0, time.perf_counter()
        for sums, metrics, steps, applied in self._executions(batches, steps_per_epoch - done_in_epoch):
            metrics = {k: float(v) for k, v in metrics.items()}
            if not bool(applied):
                raise NonFiniteLossError(
                    f'Non-finite loss at step {int(self.step.numpy()) + 1} ({metrics}); stopped without '
                    f'applying it. The last good checkpoint is {self.manager.latest_checkpoint}. Lower '
                    f'the learning rates (--g_learning_rate/--d_learning_rate) and rerun to resume.')
            sums = metrics if steps == 1 else {k: float(v) for k, v in sums.items()}
            for key, value in sums.items():
                totals[key] = totals.get(key, 0.0) + value
            # Batches hold the global batch size but the last of a full epoch, which holds the rest.
            images_seen += sum(min(config.batch_size, num_examples - batch * config.batch_size)
                               for batch in range(done_in_epoch + count, done_in_epoch + count + steps))
            count += steps
            step = int(self.step.numpy())
            rate = images_seen / (time.perf_counter() - start)
            if step // config.log_every > (step - steps) // config.log_every:
                with self.writer.as_default(step=step):
                    for key, value in metrics.items():
                        tf.summary.scalar(f'train/{key}', value)
                    tf.summary.scalar('train/images_per_second', rate)
            if step % config.checkpoint_every == 0:
                self.manager.save(checkpoint_number=step, check_interval=False)
            progbar.update(done_in_epoch + count,
                           [*((key, value / steps) for key, value in sums.items()), ('img/s', rate)])
        means = {key: total / max(count, 1) for key, total in totals.items()}
        means['images_per_second'] = images_seen / max(time.perf_counter() - start, 1e-9)
        return means

    def _write_epoch_artifacts(self, epoch, history):
        grids = self.preview_grids()
        for name, grid in grids.items():
            folder = self.image_dir if name == 'epoch' else os.path.join(self.image_dir, name)
            artifacts.save_png(os.path.join(folder, f'epoch_{epoch:04d}.png'), grid)
        artifacts.write_gif(artifacts.epoch_grid_paths(self.image_dir)[:epoch], self.gif_path)
        artifacts.write_history(self.history_path, history)
        artifacts.plot_history(history, os.path.join(self.config.model_dir, 'losses.png'))
        with self.writer.as_default(step=int(self.step.numpy())):
            for key, value in history[-1].items():
                tf.summary.scalar(f'epoch/{key}', value)
            for name, grid in grids.items():
                tf.summary.image(f'preview/{name}', grid[np.newaxis], max_outputs=1)
        self.writer.flush()
