"""Runs a training scenario on a CPU split into 2 logical devices under MirroredStrategy and
prints its results as JSON on the last line. A script, not a test module: the split must happen
before TensorFlow initializes its devices, so tests/test_distribute.py runs it in a subprocess.

  python tests/mirrored_scenarios.py one_step   -> weights after one step, 2 replicas vs 1 device
  python tests/mirrored_scenarios.py fit MODEL_DIR EPOCHS   -> trains with 2 replicas
"""

import json
import logging
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices('CPU')[0], [tf.config.LogicalDeviceConfiguration()] * 2)

from conftest import MOMENTUM_ADAM, TINY_WIDTHS, synthetic_data  # noqa: E402

from tfgan2 import TrainConfig, Trainer, build_gan, distribute  # noqa: E402

# Every part with randomness or state of its own, and several discriminator updates per step.
ALL_PARTS = dict(augment='color,translation,cutout', augment_target=0.5, lecam_weight=0.1, penalty='gradient')


def build_trainer(strategy, model_dir, model='dcgan', hyperparameters=None, **config):
    tf.keras.utils.set_random_seed(3)
    with strategy.scope():
        # No dropout: its masks are drawn per replica, so they differ from one device's.
        gan = build_gan(model, image_shape=(28, 28, 1), num_classes=10, dropout=0.0, **TINY_WIDTHS,
                        **(hyperparameters or {}))
    return Trainer(gan, model_dir, TrainConfig(verbose=False, **{**MOMENTUM_ADAM, **config}), strategy)


def state_variables(trainer):
    """The GAN's variables (its networks, the averaged generator, augmentation and LeCam state)
    and both optimizers'."""
    state = trainer.state
    return trainer.gan.variables + state.g_optimizer.variables + state.d_optimizer.variables


def one_step(model_dir):
    """Max abs difference of every variable and metric after one step, 2 replicas vs 1 device,
    per model and global batch size (uneven and even split); and the errors for what cannot run."""
    mirrored_strategy = distribute.create_strategy('mirrored')
    rng = np.random.default_rng(0)
    results = {'replicas': mirrored_strategy.num_replicas_in_sync}
    rows = (('dcgan', 7, {}, {}), ('cgan', 8, {}, {}),  # split 4 + 3 and 4 + 4
            ('cgan', 7, ALL_PARTS, {'n_critic': 2}))
    for model, batch, hyperparameters, config in rows:
        single = build_trainer(tf.distribute.get_strategy(), model_dir, model, hyperparameters, batch_size=batch,
                               **config)
        mirrored = build_trainer(mirrored_strategy, model_dir, model, hyperparameters, batch_size=batch, **config)
        for target, source in zip(state_variables(mirrored), state_variables(single)):
            target.assign(source)  # identical starting points, whatever the initializers did
        images = np.clip(rng.normal(size=(batch, 28, 28, 1)), -1, 1).astype(np.float32)
        labels = rng.integers(0, 10, batch).astype(np.int32)
        single_metrics, _ = single.step_function.train_step(images, labels)
        batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
        distributed = next(iter(mirrored.step_function.distribute(batches)))
        mirrored_metrics, _ = mirrored.step_function.train_step(*distributed)
        state = zip(state_variables(single), state_variables(mirrored))
        name = f'{model}_batch_{batch}' + ('_all_parts' if hyperparameters else '')
        results[name] = {
            'weights': max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in state),
            'metrics': max(abs(float(single_metrics[k]) - float(mirrored_metrics[k]))
                           for k in single_metrics),
            'steps': [single.step, mirrored.step]}
    # float16 as on GPUs: loss scaling nests its cross-replica update in the trainer's.
    keras.mixed_precision.set_global_policy('mixed_float16')
    scaled = build_trainer(mirrored_strategy, model_dir, batch_size=8)
    keras.mixed_precision.set_global_policy('float32')
    distributed = next(iter(scaled.step_function.distribute(batches)))
    _, applied = scaled.step_function.train_step(*distributed)
    optimizer = scaled.state.g_optimizer
    updates = int(optimizer.iterations.numpy())
    optimizer.dynamic_scale.assign(2.0 ** 40)  # float16 gradients overflow: every replica skips the update
    scaled.step_function.train_step(*distributed)
    results['float16'] = {'applied': bool(applied), 'updates': updates,
                          'updates_after_overflow': int(optimizer.iterations.numpy()),
                          'scale_after_overflow': float(optimizer.dynamic_scale.numpy())}
    try:
        build_trainer(mirrored_strategy, model_dir, jit_compile=True)
    except ValueError as e:
        results['jit_error'] = str(e)
    last_batch_of_one = synthetic_data(count=65)
    try:
        build_trainer(mirrored_strategy, model_dir, batch_size=64).fit(last_batch_of_one, epochs=1)
    except ValueError as e:
        results['short_batch_error'] = str(e)
    return results


def fit(model_dir, epochs):
    """Trains a tiny DCGAN with 2 replicas; returns the history, the log and the tracing count."""
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger('tfgan2').addHandler(handler)
    logging.getLogger('tfgan2').setLevel(logging.INFO)
    trainer = build_trainer(distribute.create_strategy('mirrored'), model_dir, batch_size=64,
                            checkpoint_every=2, seed=7)
    trainer.fit(synthetic_data(), epochs=int(epochs))
    return {'history': trainer.history, 'log': messages,
            'tracing_count': trainer.step_function.train_step.experimental_get_tracing_count()}


if __name__ == '__main__':
    scenario, *args = sys.argv[1:]
    print(json.dumps({'one_step': one_step, 'fit': fit}[scenario](*args)))
