"""A full disk (issue 23, class 3) at a checkpoint save, a TensorBoard summary write, a grid, GIF
or history write, and an export: one line naming the path, nothing half-written left behind, the
previous checkpoint restorable, and a rerun on the still-full disk answers in one line.

The disk is full for real: a small tmpfs is mounted for each test and filled with a file at the
moment under test, so every write after that meets the kernel's ENOSPC. Mounting needs the
privilege to mount (root here and in root CI containers); where it is missing these tests skip,
saying so, rather than fake the fault.
"""

import os
import subprocess
import sys

import keras
import pytest
from conftest import PATIENCE_S, make_idx_dir, synthetic_data, tiny_trainer

from tfgan2 import artifacts, errors, export, load_run, run


class FullDisk:
    """A tmpfs of `size` mounted at `path`, filled on demand by one file."""

    def __init__(self, path):
        self.path, self.filler = str(path), os.path.join(str(path), 'filler')

    def fill(self):
        """Writes until the kernel refuses a single byte more."""
        with open(self.filler, 'ab', buffering=0) as f:
            for size in (1 << 20, 1 << 12, 1):
                try:
                    while True:
                        f.write(b'\0' * size)
                except OSError as e:
                    assert e.errno == 28  # ENOSPC: the disk is full
        return self

    def free(self):
        os.remove(self.filler)


@pytest.fixture
def disk(tmp_path):
    folder = tmp_path / 'disk'
    folder.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f'a full disk is tested on a tmpfs, which cannot be mounted here ({mounted.stderr.strip()})')
    try:
        yield FullDisk(folder)
    finally:
        subprocess.run(['umount', '-l', str(folder)], check=True)


@pytest.fixture(scope='module')
def data():
    return synthetic_data()  # 200 images: 4 steps of batch 64 per epoch


def leftovers(folder):
    """Half-written files: the hidden siblings of published files, TensorFlow's *_temp folders,
    export staging folders."""
    return [os.path.join(root, name) for root, folders, names in os.walk(folder) for name in folders + names
            if name.startswith(('.tmp-', '.old-')) or '.tmp-' in name or name.endswith('_temp')
            or 'tempstate' in name]


def fill_at(disk, **hook):
    """A Keras callback that fills `disk` at the hook it is given, e.g. on_epoch_end=0 (the epoch)
    or on_train_batch_end=1 (the batch of the epoch), once."""
    (name, when), = hook.items()
    filled = []

    def maybe_fill(index, logs=None):
        if index == when and not filled:
            filled.append(disk.fill())
    return keras.callbacks.LambdaCallback(**{name: maybe_fill})


def test_a_full_disk_at_a_checkpoint_save(disk, data):
    model_dir = os.path.join(disk.path, 'run')
    trainer = tiny_trainer(model_dir, data)  # checkpoints every 2 steps
    trainer.fit(data, epochs=1)
    with pytest.raises(run.CheckpointError) as error:  # step 6 saves, on a disk filled after step 5
        trainer.fit(data, epochs=2, callbacks=[fill_at(disk, on_train_batch_end=0)])
    message = str(error.value)
    assert message.startswith(f'Cannot write the checkpoint {model_dir}/checkpoints/ckpt-6 (No space left on device)')
    assert f'resumes from {model_dir}/checkpoints/ckpt-4' in message and '\n' not in message
    assert leftovers(model_dir) == [] and not [n for n in os.listdir(f'{model_dir}/checkpoints') if 'ckpt-6' in n]
    assert load_run(model_dir)  # the previous checkpoint restores
    disk.free()
    resumed = tiny_trainer(model_dir, data)
    resumed.fit(data, epochs=2)
    assert resumed.step == 8 and [row['epoch'] for row in resumed.history] == [1, 2]


def test_a_full_disk_at_a_summary_write(disk, data):
    model_dir = os.path.join(disk.path, 'run')
    # Batches of 4 and a scalar every step: the summary writer flushes every few steps.
    trainer = tiny_trainer(model_dir, data, batch_size=4, log_every=1, checkpoint_every=1000)
    with pytest.raises(errors.ConfigError) as error:
        trainer.fit(data, epochs=1, callbacks=[fill_at(disk, on_train_batch_end=0)])
    assert str(error.value).startswith(f'Cannot write {model_dir}/logs (') and 'No space left on device' in str(
        error.value)
    assert trainer.epoch == 0 and leftovers(model_dir) == []


@pytest.mark.parametrize('written', ['save_png', 'write_gif_frame', 'write_history', 'plot_history'])
def test_a_full_disk_at_a_grid_gif_or_history_write(disk, data, monkeypatch, written):
    """The disk fills just before `written` writes its file (the grid, the GIF, history.csv, the
    plot), whatever the outputs before it needed."""
    model_dir = os.path.join(disk.path, 'run')
    real = getattr(artifacts, written)

    def fill_then_write(*args, **kwargs):
        disk.fill()
        return real(*args, **kwargs)
    monkeypatch.setattr(artifacts, written, fill_then_write)
    trainer = tiny_trainer(model_dir, data)
    with pytest.raises(errors.ConfigError) as error:
        trainer.fit(data, epochs=1)
    names = {'save_png': 'images/epoch_0001.png', 'write_gif_frame': 'training.gif', 'write_history': 'history.csv',
             'plot_history': 'losses.png'}
    assert str(error.value) == (f'Cannot write {model_dir}/{names[written]} (No space left on device); free space '
                                f'on its disk or choose a writable path.')
    assert leftovers(model_dir) == []
    assert trainer.epoch == 0  # not counted: the next fit ends it again
    assert load_run(model_dir)  # ckpt-2, saved mid-epoch, restores


def test_a_full_disk_at_an_export(disk, data, tmp_path):
    gan = load_run(trained_run(tmp_path / 'run', data))
    base = os.path.join(disk.path, 'exports')
    first = export.export_generator(gan, base, 'dcgan')
    config = open(os.path.join(base, 'models.config')).read()
    disk.fill()
    with pytest.raises(errors.ExportError) as error:
        export.export_generator(gan, base, 'dcgan')
    assert str(error.value) == (f'Cannot write {base}/dcgan/2 (No space left on device); free space on its disk or '
                                f'pass an export_base you can write to.')
    assert leftovers(base) == [] and export.versions(os.path.join(base, 'dcgan')) == [1]
    assert open(os.path.join(base, 'models.config')).read() == config and export.load_saved_model(first)


def trained_run(model_dir, data):
    tiny_trainer(model_dir, data).fit(data, epochs=1)
    return model_dir


def command(module, *args):
    return subprocess.run([sys.executable, '-m', f'tfgan2.cli.{module}', *args], capture_output=True, text=True,
                          timeout=PATIENCE_S)


def test_commands_on_a_still_full_disk_answer_in_one_line(disk, tmp_path):
    idx_dir = make_idx_dir(tmp_path / 'idx')
    model_dir = os.path.join(disk.path, 'run')
    tiny = ['--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16', '--model=dcgan']
    first = command('train', f'--data={idx_dir}', f'--model_dir={model_dir}', '--epochs=1', '--steps_per_epoch=2',
                    '--batch_size=16', *tiny)
    assert first.returncode == 0, first.stderr[-3000:]
    disk.fill()
    for module, args in (('train', [f'--data={idx_dir}', f'--model_dir={model_dir}', '--epochs=2',
                                    '--steps_per_epoch=2', '--batch_size=16', *tiny]),
                         ('export', [f'--model_dir={model_dir}', f'--export_base={disk.path}/exports'])):
        result = command(module, *args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
        assert lines[-1].startswith(f'error: Cannot write {disk.path}/') and 'No space left on device' in lines[-1]
    assert leftovers(disk.path) == [] and load_run(model_dir)
