"""`Trainer`: runs epochs of `step.TrainStep` over a dataset, with exact resume from the run
folder's checkpoints, Keras callbacks, progress, and the outputs of `outputs.RunOutputs`.

    trainer = tfgan2.Trainer(gan, 'runs/mine')
    trainer.fit(data, epochs=10)            # until 10 epochs are complete; run again to resume
    trainer.fit(data, additional_epochs=5)  # 5 more than are complete
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

import keras
import tensorflow as tf

from tfgan2 import artifacts, errors
from tfgan2 import data as data_lib
from tfgan2 import run as run_lib
from tfgan2.models import GAN
from tfgan2.training import outputs as outputs_lib
from tfgan2.training.config import TrainConfig
from tfgan2.training.state import TrainState
from tfgan2.training.step import TrainStep

logger = logging.getLogger(__name__)


class NonFiniteLossError(errors.Error, RuntimeError):
    """A loss became NaN or infinite; the step was not applied and nothing was saved after it."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped by Ctrl-C or SIGTERM after saving a checkpoint of the last step."""


class Trainer:
    """Trains `gan` in the run folder `model_dir` (local, gs:// or ram://).

    The folder keeps the run's record (gan.json), checkpoints and outputs (see `tfgan2.run`);
    a later `fit`, in this process or another, continues from its newest readable checkpoint
    and ends with the weights an uninterrupted run would have: bit for bit on CPUs, and on GPUs
    once `tf.config.experimental.enable_op_determinism()` has made their kernels deterministic.
    With a `tf.distribute` strategy, build the GAN in its scope and pass it here; only the
    chief writes files."""

    def __init__(self, gan: GAN, model_dir: str | os.PathLike, config: TrainConfig | None = None,
                 strategy: tf.distribute.Strategy | None = None):
        self.gan, self.run, self.config = gan, run_lib.RunDir(model_dir), config or TrainConfig()
        self.strategy = strategy or tf.distribute.get_strategy()
        variable = gan.generator.variables[0]
        if not self.strategy.extended.variable_created_in_scope(getattr(variable, 'value', variable)):
            raise errors.ConfigError(f'The GAN was built outside the scope of {type(self.strategy).__name__}; '
                                     f'build it inside `with strategy.scope():` and pass that strategy.')
        with self.strategy.scope():
            self.state = TrainState(gan, self.config)
        self.step_function = TrainStep(gan, self.state, self.strategy, self.config)
        gan.optimizer = GANOptimizers(self.state)  # what Keras callbacks read from a model
        self.is_chief = self.strategy.extended.should_checkpoint
        self._synced_with_run = False  # whether the state was restored from (or started in) the folder
        self._lock = None

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return int(self.state.epoch.numpy())

    @property
    def step(self) -> int:
        """Updates applied."""
        return int(self.state.step.numpy())

    @property
    def history(self) -> list[dict]:
        """The run's per-epoch records so far (history.csv), one dict per epoch."""
        return [row for row in artifacts.read_history(self.run.history_path) if row['epoch'] <= self.epoch]

    def fit(self, data: data_lib.ImageData, epochs: int | None = None, *, additional_epochs: int | None = None,
            callbacks: Sequence[keras.callbacks.Callback] | None = None) -> keras.callbacks.History:
        """Trains on `data` until `epochs` epochs are complete, or for `additional_epochs` more
        than are complete; returns a `keras.callbacks.History` of the epochs trained in this
        call. `callbacks` are `keras.callbacks.Callback`s: epoch logs hold the epoch's mean
        losses; figures a callback adds to them (as `EvaluationCallback` does) join the history;
        setting `model.stop_training` stops after the current step, saving a checkpoint;
        `model.optimizer` is a `GANOptimizers`, so callbacks such as `keras.callbacks.TensorBoard`
        work (the run writes its own TensorBoard logs to `logs/` too)."""
        if (epochs is None) == (additional_epochs is None):
            raise errors.ConfigError('Pass either epochs (train until that many are complete) or '
                                     'additional_epochs (train that many more).')
        epoch_examples = self._epoch_examples(data)
        with self._run_folder(data) as outputs:
            target = epochs if epochs is not None else self.epoch + additional_epochs
            history = keras.callbacks.History()
            if target <= self.epoch:
                logger.warning('%s has already completed %d epochs, so epochs=%d trains nothing; pass '
                               'a larger epochs, or additional_epochs.', self.run, self.epoch, target)
            # History last, so it records what the callbacks before it add to the logs.
            self._train(data, target, epoch_examples, keras.callbacks.CallbackList(
                [*(callbacks or []), history], model=self.gan, epochs=target), outputs)
        return history

    @contextlib.contextmanager
    def _run_folder(self, data):
        """Locks the folder (chief), checks or writes its record, restores the state once, and
        yields the outputs writer (None on other workers)."""
        self._lock = self.run.lock().acquire() if self.is_chief else None
        outputs = None
        try:
            record = {**run_lib.gan_record(self.gan), 'data': run_lib.data_record(data)}
            if self.run.has_record():
                self.run.check_record(record)
            elif self.is_chief:
                self.run.write_record(record)
            artifacts.read_history(self.run.history_path)  # A damaged history stops here, not after an epoch.
            if not self._synced_with_run:
                self._restore(data)
            if self.is_chief:
                outputs = outputs_lib.RunOutputs(self.gan, self.run, self.state.preview_noise)
            yield outputs
        finally:
            if outputs:
                outputs.close()
            self.state.discard_worker_files()
            if self._lock:
                self._lock.release()
                self._lock = None

    def _restore(self, data):
        if self.step and not self.run.checkpoints():
            raise errors.RunError(f'This trainer was stopped at once before {self.run} had a checkpoint; build a '
                                  f'new GAN and Trainer to start over.')
        restored = self.state.restore(self.run)
        if restored and self.is_chief:  # Damaged newer ones go aside, so their steps are saved again.
            self.run.set_aside_newer_than(restored)
        if not restored and artifacts.read_history(self.run.history_path):
            raise run_lib.CheckpointError(
                f'{self.run} holds outputs of a run but no checkpoint, so it cannot be continued '
                f'exactly; move the folder away, or train in a new folder.')
        self._synced_with_run = True
        state = (f'resumed from {restored} at epoch {self.epoch}, step {self.step}' if restored
                 else 'starting fresh')
        logger.info('%s on %s (%s): %d images %s, %d classes; %s; %s.', self.gan.kind, data.name,
                     data.source, data.num_examples, 'x'.join(map(str, data.image_shape)),
                     data.num_classes, self._describe_setup(), state)

    def _describe_setup(self):
        """How the steps run: global batch and replicas, precision, XLA, steps per call."""
        config, replicas = self.config, self.strategy.num_replicas_in_sync
        parts = [f'batch {config.batch_size}']
        if replicas > 1:
            low, high = config.batch_size // replicas, -(-config.batch_size // replicas)
            per_replica = f'{low}' if low == high else f'{low}-{high}'
            parts = [f'global batch {config.batch_size} = {replicas} replicas x {per_replica} '
                     f'({type(self.strategy).__name__})']
        policy = self.gan.generator.dtype_policy.name
        if policy != 'float32':
            parts.append(policy)
        if config.jit_compile:
            parts.append('XLA')
        if config.steps_per_execution > 1:
            parts.append(f'{config.steps_per_execution} steps per call')
        return ', '.join(parts)

    def _epoch_examples(self, data):
        """How many images an epoch trains on: all of them, or `steps_per_epoch` batches."""
        cap = self.config.steps_per_epoch
        examples = min(data.num_examples, cap * self.config.batch_size) if cap else data.num_examples
        last_batch = examples - (-(-examples // self.config.batch_size) - 1) * self.config.batch_size
        replicas = self.strategy.num_replicas_in_sync
        if last_batch < replicas:
            raise errors.ConfigError(f'The last batch of an epoch holds {last_batch} image(s), too few to feed '
                                     f'{replicas} replicas. Use a batch_size of at least {replicas} that leaves a '
                                     f'last batch (images % batch size) of 0 or at least {replicas}, or a '
                                     f'steps_per_epoch below {-(-data.num_examples // self.config.batch_size)}.')
        return examples

    def _train(self, data, target, epoch_examples, callbacks, outputs):
        self.gan.stop_training = False
        callbacks.on_train_begin()
        with _stop_requests() as self._stops:
            try:
                while self.epoch < target and not self.gan.stop_training:
                    if self.state.progress.examples == 0:
                        self.gan.begin_epoch(data, self.epoch, self.config.seed)
                    callbacks.on_epoch_begin(self.epoch)
                    if self._run_epoch(data, target, epoch_examples, callbacks, outputs, self._stops):
                        self._end_epoch(callbacks, outputs)
            except TrainingInterrupted:
                # Stopped at once, maybe between two updates of the state: the next fit rereads the folder.
                if self._stops.at_once:
                    self._synced_with_run = False
                raise
        callbacks.on_train_end()

    def _run_epoch(self, data, target, epoch_examples, callbacks, outputs, stop_requested):
        """Trains the rest of the current epoch; returns whether it reached its end."""
        config, progress = self.config, self.state.progress
        start, epoch = progress.examples, self.epoch
        if start >= epoch_examples:  # an epoch cut short by a smaller steps_per_epoch since
            return True
        remaining = epoch_examples - start
        steps = -(-remaining // config.batch_size)
        batches = data_lib.input_pipeline(data, config.batch_size, config.seed, epoch, start=start,
                                          stop=epoch_examples, shuffle_buffer=config.shuffle_buffer)
        progbar = _ProgressBar(epoch, target, progress.steps, progress.steps + steps) if config.verbose else None
        done, last = 0, time.perf_counter()
        callbacks.on_train_batch_begin(progress.steps)
        for sums, metrics, ran, applied in self._steps(data, batches, steps):
            if not bool(applied):
                raise NonFiniteLossError(
                    f'Non-finite loss at step {self.step + 1} ({_floats(metrics)}); stopped without '
                    f'applying it. The last good checkpoint is {self._newest_checkpoint()}. '
                    f'Lower the learning rates (g_learning_rate, d_learning_rate) and train again to resume.')
            done += ran
            now = time.perf_counter()
            progress.add(_floats(sums), ran, min(done * config.batch_size, remaining) - (progress.examples - start),
                         now - last)
            last, rate = now, progress.images_per_second()
            callbacks.on_train_batch_end(progress.steps - 1, _floats(metrics))
            if outputs and self.step // config.log_every > (self.step - ran) // config.log_every:
                outputs.log_step(self.step, _floats(metrics), rate)
            if progbar:
                progbar.update(progress.steps, [*progress.means().items(), ('img/s', rate)])
            if stop_requested() or self.gan.stop_training:
                self._save()
                if stop_requested():
                    raise TrainingInterrupted(f'Interrupted at step {self.step}; saved a checkpoint. Train '
                                              f'again with the same settings to resume.')
                return False
            if self.step % config.checkpoint_every == 0 and progress.examples < epoch_examples:
                self._save()
            if done < steps:
                callbacks.on_train_batch_begin(progress.steps)
        return True

    def _steps(self, data, batches, steps):
        """The step function's runs over `batches`. An image file that cannot be decoded (data
        read file by file) ends training in one `DataError` naming it, after saving the last
        step; any other error is raised as it is."""
        runs = self.step_function.run(self.step_function.distribute(batches), steps)
        while True:
            step, examples = self.step, self.state.progress.examples
            try:
                run = next(runs)
            except StopIteration:
                return
            except tf.errors.OpError:
                problem = data_lib.unreadable_image(data, self.config.seed, self.epoch, examples,
                                                    self.config.batch_size * self.config.steps_per_execution)
                if problem is None:
                    raise
                saved = self._save() if self.step == step else None  # not when a call stopped midway
                raise errors.DataError(f'{problem} The last checkpoint is {saved or self._newest_checkpoint()}; '
                                         f'train again to resume from it.') from None
            yield run

    def _end_epoch(self, callbacks, outputs):
        """Passes the epoch's means to the callbacks, writes its outputs, then counts it and
        saves: a callback or a write that fails leaves the epoch uncounted, so the next `fit`
        ends it again rather than skipping its outputs."""
        progress, epoch = self.state.progress, self.epoch
        logs = {**progress.means(), 'images_per_second': progress.images_per_second()}
        for callback in callbacks.callbacks:  # one dict for all, so each sees what others added
            callback.on_epoch_end(epoch, logs)
        if outputs:
            history = [*self.history[:epoch], {'epoch': epoch + 1, 'step': self.step, **logs}]
            outputs.write_epoch(history, self.step)
        self.state.epoch.assign_add(1)
        progress.reset()
        self._save()

    def _save(self):
        with self._stops.saving():  # A second Ctrl-C lets the save finish.
            prefix = self.state.save(self.run, self.is_chief)
            if self._lock:
                self._lock.refresh()
        return prefix

    def _newest_checkpoint(self):
        return next(iter(self.run.checkpoints()), None)


class GANOptimizers:
    """`gan.optimizer` of a GAN a `Trainer` trains: what Keras callbacks (TensorBoard,
    LearningRateScheduler, ReduceLROnPlateau, ...) read from a model's optimizer, for a model
    that two optimizers train. `iterations` counts the updates applied; `optimizers` are the
    generator's and the discriminator's, by those names."""

    def __init__(self, state):
        self.iterations = state.step
        self.optimizers = [_NamedOptimizer('generator', state.g_optimizer),
                           _NamedOptimizer('discriminator', state.d_optimizer)]


class _NamedOptimizer:
    """One network's optimizer as Keras callbacks address it: a name and a learning rate."""

    def __init__(self, name, optimizer):
        self.name, self._optimizer = name, optimizer

    @property
    def learning_rate(self):
        return self._optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._optimizer.learning_rate = value


# Off a terminal, progress within an epoch is a plain line at most this often, so that logs
# show a long epoch moving without filling up.
PLAIN_LINE_SECONDS = 30


class _ProgressBar:
    """The epoch's running means, as history.csv will hold them: a live Keras bar on a
    terminal; elsewhere (logs, pipes) a plain line every PLAIN_LINE_SECONDS and one at the end
    of the epoch."""

    def __init__(self, epoch, target, start, steps):
        print(f'Epoch {epoch + 1}/{target}', flush=True)
        self.start, self.steps, self.bar = start, steps, None
        self.live = sys.stdout.isatty()
        self.began = self.last_line = time.monotonic()

    def update(self, step, values):
        if self.bar is None:  # Every value shown is already a mean: none is averaged again.
            self.bar = keras.utils.Progbar(self.steps, verbose=1 if self.live else 2,
                                           stateful_metrics=[key for key, _ in values])
        self.bar.update(step, values)
        now = time.monotonic()
        if not self.live and step < self.steps and now - self.last_line >= PLAIN_LINE_SECONDS:
            self.last_line, elapsed = now, now - self.began
            remaining = elapsed / (step - self.start) * (self.steps - step)
            shown = ' - '.join(f'{key}: {value:.4f}' for key, value in values)
            print(f'{step}/{self.steps} - {elapsed:.0f}s, about {remaining:.0f}s to go - {shown}', flush=True)


def _floats(metrics):
    return {key: float(value) for key, value in metrics.items()}


class _StopRequests:
    """Ctrl-C (SIGINT) and SIGTERM while training: the first sets a flag, which the loop checks
    between steps (calling this object) to save and stop; a second stops at once with
    `TrainingInterrupted`, except during a save, which it lets finish first."""

    def __init__(self):
        self.signals, self._saving = [], False

    def __call__(self):
        return bool(self.signals)

    @property
    def at_once(self):
        return len(self.signals) > 1

    def handle(self, signum, frame):
        self.signals.append(signum)
        if not self.at_once:
            logger.warning('Stopping after the current step (again to stop at once).')
        elif not self._saving:
            raise TrainingInterrupted('Stopped at once, without saving the steps since the last checkpoint; '
                                      'train again with the same settings to resume from it.')

    @contextlib.contextmanager
    def saving(self):
        self._saving = True
        try:
            yield
        finally:
            self._saving = False
        if self.at_once:
            raise TrainingInterrupted('Stopped at once after saving a checkpoint; train again with the same '
                                      'settings to resume.')


@contextlib.contextmanager
def _stop_requests():
    """Within the block, Ctrl-C and SIGTERM are `_StopRequests`; yields it."""
    requests = _StopRequests()
    if threading.current_thread() is not threading.main_thread():
        yield requests  # Signal handlers can only be set in the main thread.
        return
    previous = {sig: signal.signal(sig, requests.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requests
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
