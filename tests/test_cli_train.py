"""The tfgan2-train command: a tiny end-to-end run and one-line errors for bad flags."""

import json
import os
import subprocess
import sys

import pytest

TINY = ['--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16']


def train(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'tfgan2.cli.train', *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_end_to_end_run_writes_grids_gif_and_checkpoints(tmp_path, idx_dir):
    result = train(f'--data_dir={idx_dir}', f'--model_dir={tmp_path}', '--epochs=2',
                   '--steps_per_epoch=2', '--batch_size=16', *TINY)
    assert result.returncode == 0, result.stderr
    assert 'Epoch 2/2' in result.stdout
    assert sorted(os.listdir(tmp_path / 'images')) == ['epoch_0001.png', 'epoch_0002.png']
    assert (tmp_path / 'training.gif').exists() and (tmp_path / 'history.csv').exists()
    assert 'ckpt-4.index' in os.listdir(tmp_path / 'checkpoints')
    # The model's default dropout is written out, so the run keeps it if the default changes.
    with open(tmp_path / 'gan.json') as f:
        assert json.load(f)['hyperparameters']['dropout'] == 0.3


@pytest.mark.parametrize('flag, expected', [
    ('--epochs=0', '--epochs=0'),
    ('--batch_size=-4', '--batch_size=-4'),
    ('--model=stylegan9', 'choose one of'),
    ('--generator_widths=16,x', 'at least two positive integers'),
    ('--data_dir=/no/such/folder', 'not a readable directory'),
])
def test_bad_flags_end_with_one_clear_line(tmp_path, idx_dir, flag, expected):
    args = [f'--data_dir={idx_dir}', f'--model_dir={tmp_path}', *TINY, flag]
    result = train(*args)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines()
              if line.startswith(('error:', 'FATAL Flags parsing error'))]
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert not os.listdir(tmp_path)  # nothing half-made


def test_training_flags_default_to_the_library_recipe():
    # The command defines its flags without importing TensorFlow, so it repeats TrainConfig's
    # defaults; this keeps `tfgan2-train` and `Trainer` on the same measured recipe.
    script = ('import dataclasses\n'
              'from absl import flags\n'
              'from tfgan2.cli import train\n'
              'from tfgan2.train import TrainConfig\n'
              'defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)\n'
              '            if f.default is not dataclasses.MISSING}\n'
              'shared = [n for n in defaults if n in flags.FLAGS]\n'
              'assert len(shared) >= 10, shared\n'
              'for name in shared:\n'
              '    assert flags.FLAGS[name].default == defaults[name], (name, flags.FLAGS[name].default)\n')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
