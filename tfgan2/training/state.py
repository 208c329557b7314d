"""Everything a checkpoint holds, and how it is saved and restored.

A checkpoint holds the GAN (its three networks and any state of its own), both optimizers
(with the loss scale of a float16 run), the step and epoch counters, the fixed preview noise,
the random state of layers such as Dropout, and where the current epoch stands
(`EpochProgress`), so a resumed run continues exactly where the saved one was. Checkpoints do
not depend on the strategy or the precision.
"""

import json
import logging
import shutil
import tempfile

import keras
import tensorflow as tf

from tfgan2 import run as run_lib
from tfgan2 import storage

logger = logging.getLogger(__name__)

LOSS_SCALE = 'loss_scale'


class EpochProgress(tf.train.experimental.PythonState):
    """Where the current epoch stands: how many images it has trained on, in how many steps and
    seconds, and the sum of each metric over those steps. Saved with the checkpoint, so an
    interrupted epoch resumes with the images it has not seen and its history row covers the
    whole epoch."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.examples, self.steps, self.seconds, self.sums = 0, 0, 0.0, {}

    def add(self, sums, steps, examples, seconds):
        for key, value in sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.steps += steps
        self.examples += examples
        self.seconds += seconds

    def means(self):
        return {key: total / max(self.steps, 1) for key, total in self.sums.items()}

    def images_per_second(self):
        return self.examples / max(self.seconds, 1e-9)

    def serialize(self):
        return json.dumps({'examples': self.examples, 'steps': self.steps, 'seconds': self.seconds,
                           'sums': self.sums})

    def deserialize(self, string_value):
        saved = json.loads(string_value)
        self.examples, self.steps, self.seconds, self.sums = (
            saved['examples'], saved['steps'], saved['seconds'], saved['sums'])


def seed_states(model):
    """The random-number states of layers such as Dropout: Keras tracks them in `variables`
    but not in `weights`, and a checkpoint misses them unless listed; exact resume needs them."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _adam(learning_rate, beta_1, beta_2, loss_scaling):
    adam = keras.optimizers.Adam(learning_rate, beta_1, beta_2)
    return keras.optimizers.LossScaleOptimizer(adam) if loss_scaling else adam


class TrainState:
    """The optimizers, counters and moving average of one run, and its checkpoints.

    Build it in the scope of the strategy the GAN was built in (`Trainer` does)."""

    def __init__(self, gan, config):
        self.gan, self.config = gan, config
        loss_scaling = gan.generator.dtype_policy.compute_dtype == 'float16'
        self.g_optimizer = _adam(config.g_learning_rate, config.g_beta_1, config.g_beta_2, loss_scaling)
        self.d_optimizer = _adam(config.d_learning_rate, config.d_beta_1, config.d_beta_2, loss_scaling)
        self.g_optimizer.build(gan.generator.trainable_variables)
        self.d_optimizer.build(gan.discriminator.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, name='step')  # updates applied
        self.epoch = tf.Variable(0, dtype=tf.int64, name='epoch')  # epochs completed
        self.preview_noise = tf.Variable(
            tf.random.stateless_normal([gan.preview_noise_count, gan.noise_dim], [config.seed, 1]),
            trainable=False, name='preview_noise')
        self.progress = EpochProgress()
        # The GAN as a whole (its networks and any state of its own, such as clusters), and the
        # inner optimizers, so a run can resume in another precision.
        self.objects = {
            run_lib.GAN_OBJECT: gan,
            'g_optimizer': getattr(self.g_optimizer, 'inner_optimizer', self.g_optimizer),
            'd_optimizer': getattr(self.d_optimizer, 'inner_optimizer', self.d_optimizer),
            'step': self.step, 'epoch': self.epoch, 'preview_noise': self.preview_noise,
            'layer_seeds': seed_states(gan.generator) + seed_states(gan.discriminator),
            'epoch_progress': self.progress}
        if loss_scaling:
            self.objects[LOSS_SCALE] = [v for optimizer in (self.g_optimizer, self.d_optimizer)
                                        for v in (optimizer.dynamic_scale, optimizer.step_counter)]
        self.checkpoint = tf.train.Checkpoint(**self.objects)
        self._worker_dir = None

    def discard_worker_files(self):
        """Removes what a worker other than the chief wrote (nothing on the chief)."""
        if self._worker_dir:
            shutil.rmtree(self._worker_dir, ignore_errors=True)
            self._worker_dir = None

    def update_average(self):
        """Folds the generator's weights (BatchNorm statistics included) into the averaged
        generator. The decay warms up as min(decay, (1 + step) / (10 + step)), so early averages
        forget the initial weights; decay 0 copies the weights."""
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.config.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.gan.averaged_generator.weights, self.gan.generator.weights):
            average.assign(decay * average + (1.0 - decay) * weight)

    def restore(self, run):
        """Restores the newest readable checkpoint of `run` (a `run.RunDir`); returns its prefix,
        or None when the run has none. A float32 or bfloat16 checkpoint resumed in float16
        starts from a fresh loss scale."""
        candidates = run.checkpoints()
        if not candidates:
            return None
        return run_lib.restore_newest(self.objects, candidates, run.path, optional=(LOSS_SCALE,))

    def save(self, run, is_chief=True):
        """Writes `ckpt-<step>` unless it exists (a published checkpoint is never rewritten) and
        keeps the newest `keep_checkpoints`. Workers other than the chief take part, as
        tf.distribute requires, but write into a throwaway folder."""
        if not is_chief:
            self._worker_dir = self._worker_dir or tempfile.mkdtemp(prefix='tfgan2-worker-')
            self.checkpoint.write(storage.join(self._worker_dir, 'ckpt'))
            return None
        prefix = storage.join(run.checkpoint_dir, f'{run_lib.CHECKPOINT_PREFIX}-{int(self.step.numpy())}')
        if storage.exists(prefix + '.index'):
            return prefix
        run.write_checkpoint(self.checkpoint, int(self.step.numpy()))
        checkpoints = run.checkpoints()
        kept = [storage.basename(path) for path in reversed(checkpoints[:self.config.keep_checkpoints])]
        # The state file that tf.train.latest_checkpoint reads; restoring here lists files instead.
        storage.write_atomically(storage.join(run.checkpoint_dir, 'checkpoint'), ''.join(
            [f'model_checkpoint_path: "{kept[-1]}"\n'] + [f'all_model_checkpoint_paths: "{k}"\n' for k in kept]))
        for old in checkpoints[self.config.keep_checkpoints:]:
            for path in tf.io.gfile.glob(old + '.*'):
                tf.io.gfile.remove(path)
        logger.debug('Saved %s.', prefix)
        return prefix
