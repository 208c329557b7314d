"""The tfgan2-train command: a tiny end-to-end run, flags derived from the library's
declarations, and one-line errors for bad flags and stops."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import PATIENCE_S, wait_for
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfgan2 import artifacts

TINY = ['--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16']


def train(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'tfgan2.cli.train', *args], capture_output=True,
                          text=True, timeout=PATIENCE_S, cwd=cwd)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith(('error:', 'FATAL Flags parsing error'))]


def test_end_to_end_run_writes_grids_gif_and_checkpoints(tmp_path, idx_dir):
    result = train(f'--data={idx_dir}', f'--model_dir={tmp_path}', '--epochs=2', '--steps_per_epoch=2',
                   '--batch_size=16', *TINY)
    assert result.returncode == 0, result.stderr
    assert 'Epoch 2/2' in result.stdout
    assert 'selfcond on idx' in result.stderr and 'starting fresh' in result.stderr  # the library's log
    assert sorted(os.listdir(tmp_path / 'images')) == ['epoch_0001.png', 'epoch_0002.png']
    assert (tmp_path / 'training.gif').exists() and (tmp_path / 'history.csv').exists()
    assert 'ckpt-4.index' in os.listdir(tmp_path / 'checkpoints')
    record = json.loads((tmp_path / 'gan.json').read_text())
    assert record['config']['dropout'] == 0.3  # the model's default, written out
    assert record['data']['name'] == os.path.basename(idx_dir) and record['data']['source'].startswith('idx:')


@pytest.mark.parametrize('flag, expected', [
    ('--epochs=x', '--epochs'),
    ('--batch_size=-4', '--batch_size=-4: use a value at least 1'),
    ('--model=stylegan9', '--model'),
    ('--generator_widths=16,x', '--generator_widths=16,x: give whole numbers'),
    ('--data=/no/such/folder', '/no/such/folder does not exist'),
    ('--ema_decay=1', r'--ema_decay=1.0: use a value in [0, 1)'),
    ('--class_weight=0.5', '--class_weight does not apply to --model=selfcond'),
])
def test_bad_flags_end_with_one_clear_line(tmp_path, idx_dir, flag, expected):
    result = train(f'--data={idx_dir}', f'--model_dir={tmp_path}', *TINY, flag)
    assert result.returncode != 0
    errors = error_lines(result)
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert not os.listdir(tmp_path)  # nothing half-made


def test_flags_are_derived_from_the_training_config_and_the_models():
    # In a subprocess: importing tfgan2.cli.train defines its flags in the process's absl FLAGS.
    script = ('import dataclasses\n'
              'from absl import flags\n'
              'from tfgan2 import models\n'
              'from tfgan2.cli import train\n'
              'from tfgan2.training.config import TrainConfig\n'
              'for field in dataclasses.fields(TrainConfig):\n'
              '    if field.name != "verbose":\n'
              '        assert flags.FLAGS[field.name].default == field.default, field.name\n'
              '        assert flags.FLAGS[field.name].help == field.metadata["help"], field.name\n'
              'for cls in models.MODELS.values():\n'
              '    for declared in cls.HYPERPARAMETERS:\n'
              '        flag = flags.FLAGS[declared.name]\n'
              '        assert flag.default is None, declared.name\n'
              '        assert cls.kind in flag.help and declared.help[1:] in flag.help, declared.name\n'
              '        assert list(declared.choices) == list(getattr(flag.parser, "enum_values", [])), declared.name\n'
              'print("checked")\n')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 0 and 'checked' in result.stdout, result.stderr[-2000:]


def test_sigterm_ends_with_one_line_and_a_rerun_resumes(tmp_path, idx_dir):
    # SIGTERM (kill, a scheduler) is handled as Ctrl-C is; test_run.py stops a trainer with SIGINT.
    args = [sys.executable, '-m', 'tfgan2.cli.train', f'--data={idx_dir}', f'--model_dir={tmp_path}',
            '--epochs=1000', '--batch_size=8', '--checkpoint_every=1000', *TINY]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(tmp_path / 'history.csv', process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 1
    last = stderr.strip().splitlines()[-1]
    assert last.startswith('stopped: Interrupted at step') and 'Traceback' not in stderr, stderr[-2000:]
    step = int(last.split('Interrupted at step ')[1].split(';')[0])
    assert f'ckpt-{step}.index' in os.listdir(tmp_path / 'checkpoints')
    resumed = train(f'--data={idx_dir}', f'--model_dir={tmp_path}', '--epochs=1', '--batch_size=8', *TINY)
    assert resumed.returncode == 0 and f'step {step}' in resumed.stderr, resumed.stderr[-2000:]


def test_a_recipe_sets_its_loss_penalty_and_schedule_and_flags_override_it(tmp_path, idx_dir):
    import tensorflow as tf
    result = train(f'--data={idx_dir}', f'--model_dir={tmp_path}', '--model=dcgan', '--recipe=wgan_gp',
                   '--n_critic=2', '--epochs=1', '--steps_per_epoch=2', '--batch_size=16', *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((tmp_path / 'gan.json').read_text())['config']
    assert (config['loss'], config['penalty'], config['penalty_weight']) == ('wasserstein', 'gradient', 10.0)
    checkpoint = tf.train.load_checkpoint(str(tmp_path / 'checkpoints' / 'ckpt-2'))
    iterations = {name: checkpoint.get_tensor(f'{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE')
                  for name in ('g_optimizer', 'd_optimizer')}
    assert iterations == {'g_optimizer': 2, 'd_optimizer': 4}  # --n_critic=2 over the recipe's 5
    learning_rate = checkpoint.get_tensor('d_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE')
    assert learning_rate == pytest.approx(1e-4)  # the recipe's


def test_eval_every_records_quality_figures_in_the_history_and_tensorboard(tmp_path, idx_dir):
    result = subprocess.run(
        [sys.executable, '-m', 'tfgan2.cli.train', '--model=cgan', f'--data={idx_dir}',
         f'--model_dir={tmp_path / "run"}', '--epochs=3', '--steps_per_epoch=2', '--batch_size=16', '--eval_every=2',
         *TINY],
        capture_output=True, text=True, timeout=PATIENCE_S, env={**os.environ, 'TFGAN2_CACHE': str(tmp_path / 'cache')})
    assert result.returncode == 0, result.stderr[-2000:]
    rows = artifacts.read_history(tmp_path / 'run' / 'history.csv')
    figures = ('eval_frechet_distance', 'eval_real_frechet_distance', 'eval_classifier_score', 'eval_label_accuracy')
    assert [row['epoch'] for row in rows if all(figure in row for figure in figures)] == [2]
    assert [row['epoch'] for row in rows if any(key.startswith('eval_') for key in row)] == [2]
    logs = EventAccumulator(str(tmp_path / 'run' / 'logs'))
    logs.Reload()
    assert [(event.step, event.value) for event in logs.Scalars('epoch/eval_frechet_distance')] == [
        (4, pytest.approx(rows[1]['eval_frechet_distance'], rel=1e-6))]


# Runs tfgan2-train on a CPU split into two logical devices, which must happen before TensorFlow
# starts, so that --strategy=mirrored has two replicas.
TRAIN_ON_TWO_DEVICES = """
import sys
import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices('CPU')[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
from tfgan2.cli import train
sys.argv = ['tfgan2-train', *sys.argv[1:]]
train.run()
"""


def test_mirrored_strategy_and_mixed_precision_from_the_command_line(tmp_path, idx_dir):
    result = subprocess.run(
        [sys.executable, '-c', TRAIN_ON_TWO_DEVICES, '--strategy=mirrored', '--mixed_precision', '--model=dcgan',
         f'--data={idx_dir}', f'--model_dir={tmp_path}', '--epochs=1', '--steps_per_epoch=2', '--batch_size=16',
         *TINY], capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'global batch 16 = 2 replicas x 8 (MirroredStrategy), mixed_bfloat16' in result.stderr
    assert 'ckpt-2.index' in os.listdir(tmp_path / 'checkpoints')
    assert np.isfinite(artifacts.read_history(tmp_path / 'history.csv')[0]['g_loss'])
