"""The one training loop every GAN shares: a tf.function step, checkpoints with exact resume,
and per-epoch artifacts (grid, GIF, history, plot, TensorBoard)."""

import dataclasses
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import artifacts, data, models


@dataclasses.dataclass
class TrainConfig:
    model_dir: str
    epochs: int = 5
    batch_size: int = 64
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    g_beta_1: float = 0.5
    d_beta_1: float = 0.5
    beta_2: float = 0.999
    seed: int = 0
    steps_per_epoch: int | None = None  # None: the whole dataset each epoch.
    checkpoint_every: int = 200  # steps; an epoch end always saves too.
    keep_checkpoints: int = 3
    log_every: int = 20  # steps between TensorBoard scalars.
    verbose: bool = True


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the weights of the last good step are kept."""


def _seed_states(model):
    """The RNG states of layers such as Dropout: Keras tracks them in `variables` but not in
    `weights`, and tf.train.Checkpoint misses them unless listed; exact resume needs them."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


class Trainer:
    """Trains `gan` on a `data.DatasetInfo`, writing everything under `config.model_dir`."""

    def __init__(self, gan, config):
        self.gan, self.config = gan, config
        self.g_optimizer = keras.optimizers.Adam(config.g_learning_rate, config.g_beta_1, config.beta_2)
        self.d_optimizer = keras.optimizers.Adam(config.d_learning_rate, config.d_beta_1, config.beta_2)
        self.g_optimizer.build(gan.generator.trainable_variables)
        self.d_optimizer.build(gan.discriminator.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, name='step')
        self.epoch = tf.Variable(0, dtype=tf.int64, name='epoch')  # epochs completed
        self.rng = tf.random.Generator.from_seed(config.seed)
        self.preview_noise = tf.Variable(
            tf.random.stateless_normal([gan.preview_noise_count(), gan.noise_dim], [config.seed, 1]),
            trainable=False, name='preview_noise')
        self.checkpoint = tf.train.Checkpoint(
            generator=gan.generator, discriminator=gan.discriminator,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            step=self.step, epoch=self.epoch, rng=self.rng, preview_noise=self.preview_noise,
            layer_seeds=_seed_states(gan.generator) + _seed_states(gan.discriminator))
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(config.model_dir, 'checkpoints'),
            max_to_keep=config.keep_checkpoints)
        self.image_dir = os.path.join(config.model_dir, 'images')
        self.history_path = os.path.join(config.model_dir, 'history.csv')
        self.gif_path = os.path.join(config.model_dir, 'training.gif')
        self.writer = tf.summary.create_file_writer(os.path.join(config.model_dir, 'logs'))
        self.train_step = tf.function(self._train_step, input_signature=[
            tf.TensorSpec([None, *gan.image_shape], tf.float32, name='images'),
            tf.TensorSpec([None], tf.int32, name='labels')])

    def restore(self):
        """Restores the latest checkpoint if there is one; returns its path or None."""
        path = self.manager.latest_checkpoint
        if path:
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except (AssertionError, ValueError, tf.errors.OpError) as e:
                raise ValueError(
                    f'{path} does not fit this model ({type(e).__name__}: {str(e).splitlines()[0]}). '
                    f'It was written with other --model/--dataset/width flags: rerun with those, '
                    f'or use a new --model_dir.') from None
        return path

    def _train_step(self, images, labels):
        """One simultaneous update of both networks; skipped entirely if any loss is not finite."""
        gan = self.gan
        # Batch-norm statistics move during the forward pass; keep a copy to undo a bad step.
        statistics = gan.generator.non_trainable_weights + gan.discriminator.non_trainable_weights
        previous = [tf.identity(v) for v in statistics]
        with tf.GradientTape(persistent=True) as tape:
            metrics = gan.compute_losses(images, labels, self.rng, training=True)
        g_vars = gan.generator.trainable_variables
        d_vars = gan.discriminator.trainable_variables
        g_grads = tape.gradient(metrics['g_loss'], g_vars)
        d_grads = tape.gradient(metrics['d_loss'], d_vars)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in metrics.values()])

        def apply():
            self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
            self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
            self.step.assign_add(1)
            return tf.constant(True)

        def undo():
            for variable, value in zip(statistics, previous):
                variable.assign(value)
            return tf.constant(False)

        applied = tf.cond(finite, apply, undo)
        return metrics, applied

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
            with open(path) as f:
                saved = json.load(f)
            if saved != spec:
                raise ValueError(f'{self.config.model_dir} holds a run of {saved}, not {spec}. '
                                 f'Rerun with the flags of that run to resume it, or use a new --model_dir.')
        else:
            with artifacts.atomic_path(path) as tmp, open(tmp, 'w') as f:
                json.dump(spec, f, indent=2)

    def fit(self, dataset_info, on_epoch_end=None):
        """Trains until `config.epochs` epochs are complete, resuming from the latest checkpoint.

        `on_epoch_end(epoch)`, if given, returns a dict of extra figures (e.g. quality metrics)
        recorded with that epoch's losses in the history, its plot and TensorBoard."""
        config = self.config
        os.makedirs(config.model_dir, exist_ok=True)
        self._check_spec(dataset_info)
        restored = self.restore()
        full_epoch = -(-dataset_info.num_examples // config.batch_size)
        steps_per_epoch = min(config.steps_per_epoch or full_epoch, full_epoch)
        history = [row for row in artifacts.read_history(self.history_path)
                   if row['epoch'] <= int(self.epoch.numpy())]
        if config.verbose:
            state = (f'resumed from {restored} at epoch {int(self.epoch.numpy())}, step {int(self.step.numpy())}'
                     if restored else 'starting fresh')
            print(f'{self.gan.name} on {dataset_info.source}: {dataset_info.num_examples} images '
                  f'{dataset_info.image_shape}, {dataset_info.num_classes} classes; '
                  f'batch {config.batch_size}, {steps_per_epoch} steps/epoch; {state}.')

        while int(self.epoch.numpy()) < config.epochs:
            epoch = int(self.epoch.numpy())
            done_in_epoch = min(max(int(self.step.numpy()) - epoch * steps_per_epoch, 0), steps_per_epoch)
            batches = data.input_pipeline(dataset_info.dataset, config.batch_size, config.seed, epoch,
                                          skip_batches=done_in_epoch, take_batches=steps_per_epoch)
            sums = self._run_epoch(batches, epoch, done_in_epoch, steps_per_epoch)
            self.epoch.assign_add(1)
            extra = on_epoch_end(epoch + 1) if on_epoch_end else {}
            history.append({'epoch': epoch + 1, 'step': int(self.step.numpy()), **sums, **extra})
            self._write_epoch_artifacts(epoch + 1, history)
            self.manager.save(checkpoint_number=self.step, check_interval=False)
        return history

    def _run_epoch(self, batches, epoch, done_in_epoch, steps_per_epoch):
        """Runs the steps of one epoch; returns mean metrics and images/s over the steps run."""
        config = self.config
        # A live bar on terminals; one line per epoch in logs and CI.
        verbosity = (1 if sys.stdout.isatty() else 2) if config.verbose else 0
        progbar = keras.utils.Progbar(steps_per_epoch, stateful_metrics=['img/s'], verbose=verbosity)
        if config.verbose:
            print(f'Epoch {epoch + 1}/{config.epochs}')
        progbar.update(done_in_epoch)
        totals, count, images_seen, start = {}, 0, 0, time.perf_counter()
        for images, labels in batches:
            metrics, applied = self.train_step(images, labels)
            metrics = {k: float(v) for k, v in metrics.items()}
            if not bool(applied):
                raise NonFiniteLossError(
                    f'Non-finite loss at step {int(self.step.numpy()) + 1} ({metrics}); stopped without '
                    f'applying it. The last good checkpoint is {self.manager.latest_checkpoint}. Lower '
                    f'the learning rates (--g_learning_rate/--d_learning_rate) and rerun to resume.')
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value
            count += 1
            images_seen += int(images.shape[0])
            step = int(self.step.numpy())
            rate = images_seen / (time.perf_counter() - start)
            if step % config.log_every == 0:
                with self.writer.as_default(step=step):
                    for key, value in metrics.items():
                        tf.summary.scalar(f'train/{key}', value)
                    tf.summary.scalar('train/images_per_second', rate)
            if step % config.checkpoint_every == 0:
                self.manager.save(checkpoint_number=step, check_interval=False)
            progbar.update(done_in_epoch + count, [*metrics.items(), ('img/s', rate)])
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
