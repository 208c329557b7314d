"""tf.distribute strategies, mixed precision, XLA and multi-step execution in the shared trainer.

Two replicas come from splitting the CPU into two logical devices, which must happen before
TensorFlow starts, so those runs are subprocesses (tests/mirrored_scenarios.py, the train CLI)."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import MOMENTUM_ADAM, PATIENCE_S, TINY_WIDTHS, synthetic_data

from tfgan2 import TrainConfig, Trainer, build_gan, distribute, load_run, rng

SCENARIOS = os.path.join(os.path.dirname(__file__), 'mirrored_scenarios.py')


@pytest.fixture(scope='module')
def data():
    return synthetic_data()  # 200 images: 3 x 64 + 8


@pytest.fixture
def float32_after():
    """Restores the global float32 policy that mixed-precision tests change."""
    yield
    keras.mixed_precision.set_global_policy('float32')


def scenario(*args):
    result = subprocess.run([sys.executable, SCENARIOS, *map(str, args)], capture_output=True,
                            text=True, timeout=PATIENCE_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def make_trainer(model_dir, **overrides):
    """A tiny DCGAN without dropout and with MOMENTUM_ADAM (as in mirrored_scenarios.py) on the
    default strategy."""
    config = dict(batch_size=64, checkpoint_every=2, seed=7, verbose=False, **MOMENTUM_ADAM)
    config.update(overrides)
    tf.keras.utils.set_random_seed(3)
    gan = build_gan('dcgan', image_shape=(28, 28, 1), num_classes=10, dropout=0.0, **TINY_WIDTHS)
    return Trainer(gan, str(model_dir), TrainConfig(**config))


def weights(trainer):
    gan = trainer.gan
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables
            + gan.averaged_generator.variables]


def test_one_step_on_two_replicas_equals_one_step_on_one_device(tmp_path):
    results = scenario('one_step', tmp_path)
    assert results['replicas'] == 2
    # 4 + 3 and 4 + 4 images per replica; and every part with randomness or state of its own
    for name in ('dcgan_batch_7', 'cgan_batch_8', 'cgan_batch_7_all_parts'):
        assert results[name]['steps'] == [1, 1]
        assert results[name]['weights'] < 1e-7, name  # as README says; without synchronized BN it is ~1e-2
        assert results[name]['metrics'] < 1e-6, name  # losses near 1: a few float32 roundings
    assert results['float16'] == {'applied': True, 'updates': 1, 'updates_after_overflow': 1,
                                  'scale_after_overflow': 2.0 ** 39}
    assert 'one device' in results['jit_error']
    assert 'too few to feed 2 replicas' in results['short_batch_error']


def test_checkpoint_of_two_replicas_resumes_on_one_device(tmp_path, data):
    mirrored = scenario('fit', tmp_path / 'mirrored', 1)
    assert any('global batch 64 = 2 replicas x 32 (MirroredStrategy)' in line for line in mirrored['log'])
    assert mirrored['tracing_count'] == 1
    resumed = make_trainer(tmp_path / 'mirrored')  # the same run, continued on one device
    resumed.fit(data, epochs=2)
    straight = make_trainer(tmp_path / 'straight')
    straight.fit(data, epochs=2)
    history, straight_history = resumed.history, straight.history

    assert [row['epoch'] for row in history] == [1, 2] and resumed.step == 8
    # The replicas' epoch differs from one device's by float rounding (~1e-7), which Adam turns
    # into at most ~7e-5 over 8 steps. A resumed epoch that went wrong (other noise or data order,
    # a lost optimizer state) moves weights by over 1e-3.
    for a, b in zip(weights(resumed), weights(straight)):
        np.testing.assert_allclose(a, b, atol=2e-4)
    for key in ('g_loss', 'd_loss'):
        assert history[0][key] == pytest.approx(straight_history[0][key], abs=1e-5)
    exported_from = load_run(tmp_path / 'mirrored')  # what tfgan2-export rebuilds
    for a, b in zip(exported_from.averaged_generator.weights, resumed.gan.averaged_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_multi_worker_run_of_two_processes_writes_one_checkpoint(tmp_path, idx_dir):
    cluster = {'worker': [f'127.0.0.1:{free_port()}', f'127.0.0.1:{free_port()}']}
    model_dir = tmp_path / 'run'
    workers = []
    for index in range(2):
        scratch = tmp_path / f'tmp{index}'
        scratch.mkdir()
        env = dict(os.environ, TMPDIR=str(scratch),
                   TF_CONFIG=json.dumps({'cluster': cluster, 'task': {'type': 'worker', 'index': index}}))
        workers.append(subprocess.Popen(
            [sys.executable, '-m', 'tfgan2.cli.train', '--strategy=multi_worker', '--model=dcgan', f'--data={idx_dir}',
             f'--model_dir={model_dir}', '--epochs=1', '--steps_per_epoch=3', '--batch_size=16',
             '--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16'],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outputs = [worker.communicate(timeout=PATIENCE_S) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
        assert 'global batch 16 = 2 replicas x 8' in stderr
    checkpoints = tf.train.get_checkpoint_state(str(model_dir / 'checkpoints')).all_model_checkpoint_paths
    assert [os.path.basename(path) for path in checkpoints] == ['ckpt-3']  # the chief's, once
    assert sorted(os.listdir(model_dir / 'images')) == ['epoch_0001.png']
    assert not os.listdir(tmp_path / 'tmp1')  # the other worker's checkpoints were temporary
    load_run(model_dir)


def test_steps_per_execution_trains_exactly_as_single_steps(tmp_path, data):
    # 200 images, batch 64: 4 steps per epoch; calls of 3 stop at the checkpoint every 2 steps.
    fused = make_trainer(tmp_path / 'fused', steps_per_execution=3)
    fused.fit(data, epochs=2)
    single = make_trainer(tmp_path / 'single')
    single.fit(data, epochs=2)
    assert fused.step_function.train_steps.experimental_get_tracing_count() == 1
    assert fused.step == 8
    assert sorted(os.listdir(tmp_path / 'fused' / 'checkpoints')) == \
        sorted(os.listdir(tmp_path / 'single' / 'checkpoints'))
    for a, b in zip(weights(fused), weights(single)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for fused_row, single_row in zip(fused.history, single.history):
        for key in ('g_loss', 'd_loss'):
            assert fused_row[key] == pytest.approx(single_row[key], rel=1e-5)


def test_mixed_bfloat16_trains_in_bfloat16_and_resumes_in_float32(tmp_path, data, float32_after):
    keras.mixed_precision.set_global_policy(distribute.mixed_precision_policy(tf.distribute.get_strategy()))
    trainer = make_trainer(tmp_path)
    assert trainer.gan.generator.dtype_policy.name == 'mixed_bfloat16'
    history = trainer.fit(data, epochs=1).history
    assert np.isfinite(history['g_loss'][0]) and np.isfinite(history['d_loss'][0])
    assert all(v.dtype == 'float32' for v in trainer.gan.generator.variables)
    assert trainer.gan.sample(2).dtype == tf.float32
    keras.mixed_precision.set_global_policy('float32')
    full_precision = make_trainer(tmp_path)
    assert full_precision.fit(data, epochs=2).epoch == [1]  # the bfloat16 run's checkpoint fits


def test_mixed_float16_scales_the_loss_and_skips_updates_that_overflow(tmp_path, data, float32_after):
    keras.mixed_precision.set_global_policy('mixed_float16')
    trainer = make_trainer(tmp_path, steps_per_epoch=2)
    optimizers = trainer.state.g_optimizer, trainer.state.d_optimizer
    assert all(isinstance(optimizer, keras.optimizers.LossScaleOptimizer) for optimizer in optimizers)
    for optimizer in optimizers:
        optimizer.dynamic_scale.assign(2.0 ** 40)  # a loss scaled by this overflows float16 gradients
    trained = trainer.gan.generator.trainable_variables + trainer.gan.discriminator.trainable_variables
    before = [v.numpy() for v in trained]
    trainer.fit(data, epochs=1)
    assert trainer.step == 2
    for optimizer in optimizers:  # each overflowing step was skipped and halved the scale
        assert optimizer.dynamic_scale.numpy() == 2.0 ** 38 and optimizer.iterations.numpy() == 0
    for a, b in zip(before, trained):
        np.testing.assert_array_equal(a, b.numpy())


def test_mixed_float16_resumes_with_its_loss_scale_and_in_any_precision(tmp_path, data, float32_after):
    keras.mixed_precision.set_global_policy('mixed_float16')
    first = make_trainer(tmp_path, steps_per_epoch=2)
    first.fit(data, epochs=1)
    first.state.g_optimizer.dynamic_scale.assign(4.0)  # as if overflows had halved it many times
    first.state.d_optimizer.step_counter.assign(7)
    first.state.step.assign_add(1)  # a new checkpoint number: published ones are never rewritten
    first.state.save(first.run)
    resumed = make_trainer(tmp_path, steps_per_epoch=2)
    assert resumed.state.restore(resumed.run).endswith('ckpt-3')
    assert resumed.state.g_optimizer.dynamic_scale.numpy() == 4.0
    assert resumed.state.d_optimizer.step_counter.numpy() == 7
    keras.mixed_precision.set_global_policy('float32')
    assert make_trainer(tmp_path, steps_per_epoch=2).fit(data, epochs=2).epoch == [1]


def test_float32_run_resumes_in_float16_from_a_fresh_loss_scale(tmp_path, data, float32_after):
    make_trainer(tmp_path, steps_per_epoch=2).fit(data, epochs=1)
    keras.mixed_precision.set_global_policy('mixed_float16')
    resumed = make_trainer(tmp_path, steps_per_epoch=2)
    assert resumed.state.restore(resumed.run).endswith('ckpt-2')
    optimizer = resumed.state.g_optimizer
    assert optimizer.dynamic_scale.numpy() == optimizer.initial_scale
    assert resumed.fit(data, epochs=2).epoch == [1]
    assert resumed.step == 4


NOISE_TABLE = np.random.default_rng(0).normal(size=65536).astype(np.float32)


def table_normal(self, distribution, shape, mean=0.0, stddev=1.0, dtype=tf.float32):
    """A stand-in for `rng.StatelessSampler.draw` of normal noise: values of a fixed table,
    picked by the draw's seed with integer arithmetic, which XLA computes as TensorFlow does."""
    assert distribution == 'normal', distribution
    seed = self._next_seed()
    start = (seed[0] * 7919 + seed[1] * 104729) % len(NOISE_TABLE)
    indices = (tf.range(tf.cast(tf.reduce_prod(shape), tf.int64)) + start) % len(NOISE_TABLE)
    return tf.cast(mean + stddev * tf.reshape(tf.gather(NOISE_TABLE, indices), shape), dtype)


def test_jit_compile_trains_like_the_plain_step(tmp_path, data, monkeypatch):
    # Under XLA, stateless random ops draw other numbers than TensorFlow's kernels, so both
    # runs draw their noise from one table here; what differs then is XLA's float rounding.
    monkeypatch.setattr(rng.StatelessSampler, 'draw', table_normal)
    compiled = make_trainer(tmp_path / 'xla', steps_per_epoch=2, jit_compile=True)
    compiled.fit(data, epochs=1)
    plain = make_trainer(tmp_path / 'plain', steps_per_epoch=2)
    plain.fit(data, epochs=1)
    assert compiled.step_function.train_step.experimental_get_tracing_count() == 1
    assert compiled.step == 2
    for a, b in zip(weights(compiled), weights(plain)):  # measured ~1e-7; a step moves weights by ~2e-4
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize('name, tpu, tf_config, expected', [
    ('default', 'my-tpu', None, 'tpu=my-tpu only applies to strategy=tpu'),
    ('multi_worker', None, None, 'needs the TF_CONFIG environment variable'),
    ('multi_worker', None, '{"cluster": {"worker": ["a:1"]}}', 'TF_CONFIG is not valid (KeyError'),
    ('multi_worker', None, '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
     'task is worker 3, but its cluster lists 1 worker address'),
])
def test_strategy_errors_name_the_fix(monkeypatch, name, tpu, tf_config, expected):
    monkeypatch.delenv('TF_CONFIG', raising=False)
    if tf_config:
        monkeypatch.setenv('TF_CONFIG', tf_config)
    with pytest.raises(ValueError, match=expected.replace('(', r'\(')):
        distribute.create_strategy(name, tpu)


def test_distribution_flag_error_is_one_clear_line(tmp_path, idx_dir):
    result = subprocess.run(
        [sys.executable, '-m', 'tfgan2.cli.train', f'--data={idx_dir}', f'--model_dir={tmp_path}',
         '--strategy=multi_worker'], capture_output=True, text=True, timeout=PATIENCE_S,
        env={key: value for key, value in os.environ.items() if key != 'TF_CONFIG'})
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'TF_CONFIG' in errors[0], result.stderr[-2000:]
    assert not os.listdir(tmp_path)
