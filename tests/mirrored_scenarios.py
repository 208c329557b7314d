"""Runs a training scenario on a CPU split into 2 logical devices under MirroredStrategy and
prints its results as JSON on the last line. A script, not a test module: the split must happen
before TensorFlow initializes its devices, so tests/test_distribute.py runs it in a subprocess.

  python tests/mirrored_scenarios.py one_step   -> weights after one step, 2 replicas vs 1 device
  python tests/mirrored_scenarios.py fit IDX_DIR MODEL_DIR EPOCHS -> trains with 2 replicas
"""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices('CPU')[0], [tf.config.LogicalDeviceConfiguration()] * 2)

from conftest import MOMENTUM_ADAM, TINY_WIDTHS  # noqa: E402
from tfgan2 import data, distribute, models  # noqa: E402
from tfgan2.train import TrainConfig, Trainer  # noqa: E402


def build_trainer(strategy, model_dir, model='dcgan', **config):
    tf.keras.utils.set_random_seed(3)
    with strategy.scope():
        # No dropout: its masks are drawn per replica, so they differ from one device's.
        gan = models.build_gan(model, (28, 28, 1), 10, dropout=0.0, **TINY_WIDTHS)
    return Trainer(gan, TrainConfig(model_dir=model_dir, verbose=False, **{**MOMENTUM_ADAM, **config}),
                   strategy)


def one_step(model_dir):
    """Max abs difference of every variable and metric after one step, 2 replicas vs 1 device,
    per model and global batch size (uneven and even split); and the errors for what cannot run."""
    mirrored_strategy = distribute.create_strategy('mirrored')
    rng = np.random.default_rng(0)
    results = {'replicas': mirrored_strategy.num_replicas_in_sync}
    for model, batch in (('dcgan', 7), ('cgan', 8)):  # split 4 + 3 and 4 + 4
        single = build_trainer(tf.distribute.get_strategy(), model_dir, model, batch_size=batch)
        mirrored = build_trainer(mirrored_strategy, model_dir, model, batch_size=batch)
        # The networks and the moving average of the generator.
        single_vars = single.gan.generator.variables + single.gan.discriminator.variables + single._averages()
        mirrored_vars = (mirrored.gan.generator.variables + mirrored.gan.discriminator.variables
                         + mirrored._averages())
        for target, source in zip(mirrored_vars, single_vars):
            target.assign(source)  # identical starting points, whatever the initializers did
        images = np.clip(rng.normal(size=(batch, 28, 28, 1)), -1, 1).astype(np.float32)
        labels = rng.integers(0, 10, batch).astype(np.int32)
        single_metrics, _ = single.train_step(images, labels)
        batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
        mirrored_metrics, _ = mirrored.train_step(*next(iter(mirrored._distribute(batches))))
        state = zip(single_vars + single.g_optimizer.variables + single.d_optimizer.variables,
                    mirrored_vars + mirrored.g_optimizer.variables + mirrored.d_optimizer.variables)
        results[f'{model}_batch_{batch}'] = {
            'weights': max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in state),
            'metrics': max(abs(float(single_metrics[k]) - float(mirrored_metrics[k]))
                           for k in single_metrics),
            'steps': [int(single.step.numpy()), int(mirrored.step.numpy())]}
    # float16 as on GPUs: loss scaling nests its cross-replica update in the trainer's.
    keras.mixed_precision.set_global_policy('mixed_float16')
    scaled = build_trainer(mirrored_strategy, model_dir, batch_size=8)
    keras.mixed_precision.set_global_policy('float32')
    _, applied = scaled.train_step(*next(iter(scaled._distribute(batches))))  # cgan's batch of 8
    results['float16'] = {'applied': bool(applied), 'updates': int(scaled.g_optimizer.iterations.numpy()),
                          'loss_scale': float(scaled.g_optimizer.dynamic_scale.numpy())}
    try:
        build_trainer(mirrored_strategy, model_dir, jit_compile=True)
    except ValueError as e:
        results['jit_error'] = str(e)
    images = tf.data.Dataset.from_tensor_slices((np.zeros([65, 28, 28, 1], np.float32), np.zeros([65], np.int32)))
    last_batch_of_one = data.DatasetInfo('zeros', images, (28, 28, 1), 10, 65, list('0123456789'), 'zeros')
    try:
        build_trainer(mirrored_strategy, model_dir, batch_size=64).fit(last_batch_of_one)
    except ValueError as e:
        results['short_batch_error'] = str(e)
    return results


def fit(idx_dir, model_dir, epochs):
    """Trains a tiny DCGAN with 2 replicas; returns the history and the log's first line."""
    info = data.load_dataset('fashion_mnist', data_dir=idx_dir)
    trainer = build_trainer(distribute.create_strategy('mirrored'), model_dir, batch_size=64,
                            epochs=int(epochs), checkpoint_every=2, seed=7)
    return {'history': trainer.fit(info), 'setup': trainer._describe_setup(),
            'tracing_count': trainer.train_step.experimental_get_tracing_count()}


if __name__ == '__main__':
    scenario, *args = sys.argv[1:]
    print(json.dumps({'one_step': one_step, 'fit': fit}[scenario](*args)))
