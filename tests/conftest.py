"""Shared fixtures: small synthetic MNIST-format data written as real IDX files, tiny GANs."""

import gzip
import importlib.util
import os
import signal
import struct
import sys
import time

import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# How long a test waits for a subprocess or a server before calling it hung: a guard against a
# hang, never a measure of speed, so a loaded machine does not fail a test.
PATIENCE_S = 3600

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def serving_client():
    """serving/client.py imported as the module `serving_client`, once per process: the absl
    flags it defines on import can be defined only once."""
    if 'serving_client' not in sys.modules:
        spec = importlib.util.spec_from_file_location('serving_client', os.path.join(REPO, 'serving', 'client.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules['serving_client'] = module
    return sys.modules['serving_client']


TINY_WIDTHS = dict(noise_dim=8, generator_widths=(16, 8), discriminator_widths=(8, 16))
# A self-supervised evaluation encoder that trains in seconds (tfgan2.evaluation.EncoderConfig).
TINY_ENCODER = dict(max_width=16, feature_dim=16, projection_dim=8, batch_size=64, steps=40)

# Adam with momentum, for tests that compare runs on different devices. With the default
# beta_1 = 0, a weight whose gradient is near zero moves by about +-lr on the gradient's sign,
# so float rounding that differs between 2 replicas and 1 device grows into lr-sized steps.
MOMENTUM_ADAM = dict(g_learning_rate=2e-4, d_learning_rate=2e-4, g_beta_1=0.5, d_beta_1=0.5)


def write_idx(path, array):
    """Writes `array` (uint8) as an IDX file, gzipped when `path` ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack('>BBBB', 0, 0, 0x08, array.ndim) + struct.pack(f'>{array.ndim}I', *array.shape)
    opener = gzip.open if str(path).endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(header + array.tobytes())


def synthetic_digits(count, num_classes=10, size=28, seed=0):
    """Images where class c is a bright 7x7 block at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, count).astype(np.uint8)
    images = rng.integers(0, 40, (count, size, size)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 4)
        images[i, 2 + 6 * row: 9 + 6 * row, 2 + 6 * col: 9 + 6 * col] = 230
    return images, labels


def make_idx_dir(directory, train_count=200, test_count=50, gz=True):
    os.makedirs(directory, exist_ok=True)
    suffix = '.gz' if gz else ''
    for split, count, seed in (('train', train_count, 0), ('t10k', test_count, 1)):
        images, labels = synthetic_digits(count, seed=seed)
        write_idx(os.path.join(directory, f'{split}-images-idx3-ubyte{suffix}'), images)
        write_idx(os.path.join(directory, f'{split}-labels-idx1-ubyte{suffix}'), labels)
    return str(directory)


def synthetic_data(count=200, num_classes=10, seed=0):
    """`synthetic_digits` as a `tfgan2.data.ImageData` named 'synthetic'."""
    from tfgan2 import data
    images, labels = synthetic_digits(count, num_classes, seed=seed)
    return data.from_arrays(images[..., np.newaxis], labels, name='synthetic')


def tiny_trainer(model_dir, data, model='dcgan', seed=7, hyperparameters=None, **config):
    """A tiny GAN for `data` (with `hyperparameters`) and its Trainer (batch 64, checkpoints
    every 2 steps, quiet)."""
    import keras

    from tfgan2 import TrainConfig, Trainer, build_gan
    keras.utils.set_random_seed(seed)
    gan = build_gan(model, data, **TINY_WIDTHS, **(hyperparameters or {}))
    settings = dict(batch_size=64, checkpoint_every=2, seed=seed, verbose=False)
    return Trainer(gan, str(model_dir), TrainConfig(**{**settings, **config}))


class Crash(Exception):
    """What `CrashAfter` raises: a stand-in for a crash in the middle of training."""


def crash_after(steps):
    """A Keras callback that raises `Crash` after `steps` training steps."""
    import keras
    seen = []

    def count(batch, logs):
        seen.append(batch)
        if len(seen) == steps:
            raise Crash()
    return keras.callbacks.LambdaCallback(on_train_batch_end=count)


def ctrl_c_at_its_default():
    """`preexec_fn` of a subprocess that a test sends SIGINT: Ctrl-C as a command started from a
    terminal has it. A shell's background job (`cmd &`, as CI runners and nohup start things)
    ignores SIGINT, its children inherit that, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(path, process):
    """Waits until `path` exists, as long as `process` (a subprocess.Popen) runs."""
    wait_until(lambda: os.path.exists(path), process, f'{path} appeared')


def wait_until(condition, process, what='the condition held'):
    """Waits until `condition()` holds, as long as `process` runs: an event, not a time limit, so
    a loaded machine only makes it wait longer."""
    while not condition():
        assert process.poll() is None, f'the process ended (exit {process.returncode}) before {what}'
        time.sleep(0.05)  # the polling interval only: no outcome depends on it


def newest_step(model_dir):
    """The step of the newest checkpoint in a run folder (0 when it has none)."""
    folder = os.path.join(model_dir, 'checkpoints')
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return max([int(name[5:-6]) for name in names if name.startswith('ckpt-') and name.endswith('.index')] or [0])


@pytest.fixture(scope='session')
def idx_dir(tmp_path_factory):
    """A folder of gzipped IDX files: 200 train and 50 test images, 10 classes."""
    return make_idx_dir(tmp_path_factory.mktemp('idx'))
