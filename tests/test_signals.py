"""Signals at any moment (issue 23, class 5): Ctrl-C or SIGTERM while a command starts up (every
command), during a save (a checkpoint, an export), or twice in a row ends in one line, never a
traceback, and loses nothing saved. Signals are sent on events (a line the process prints, a
file it writes, a module or a save starting), never after a delay."""

import os
import signal
import subprocess
import sys

import pytest
from conftest import PATIENCE_S, ctrl_c_at_its_default, make_idx_dir, synthetic_data, tiny_trainer, wait_for
from exported_models import export_run

from tfgan2 import TrainingInterrupted, artifacts, cli, export, load_run

TINY = ['--model=dcgan', '--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16']

# tfgan2-train, started so that the test knows when the command's own code begins: the line
# 'started' comes once tfgan2.cli is imported, before TensorFlow and the rest of the command.
STARTED = '''
import runpy, sys
import tfgan2.cli
print('started', flush=True)
sys.argv = ['tfgan2-train', *sys.argv[1:]]
runpy.run_module('tfgan2.cli.train', run_name='__main__')
'''


@pytest.fixture(scope='module')
def idx_dir(tmp_path_factory):
    return make_idx_dir(tmp_path_factory.mktemp('idx'))


def start_training(idx_dir, model_dir, *extra):
    return subprocess.Popen([sys.executable, '-c', STARTED, f'--data={idx_dir}', f'--model_dir={model_dir}',
                             '--batch_size=16', '--checkpoint_every=5', *TINY, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_at_its_default)


def ends_in_one_line(process):
    """Waits for `process` to end; returns its last line, checked to be the only word it had."""
    _, stderr = process.communicate(timeout=PATIENCE_S)
    # 1, or killed by SIGINT: how Python ends on Ctrl-C that reaches the top, as shells expect.
    assert process.returncode in (1, -signal.SIGINT) and 'Traceback' not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith('stopped: '), stderr[-3000:]
    return last


def checkpoint_files(model_dir):
    folder = os.path.join(model_dir, 'checkpoints')
    return {name: open(os.path.join(folder, name), 'rb').read() for name in sorted(os.listdir(folder))
            if name.startswith('ckpt-')}


@pytest.fixture(scope='module')
def trained(tmp_path_factory, idx_dir):
    """A run of tfgan2-train (1 epoch of 2 steps), to start again and stop."""
    model_dir = tmp_path_factory.mktemp('trained')
    process = start_training(idx_dir, model_dir, '--epochs=1', '--steps_per_epoch=2')
    _, stderr = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 0, stderr[-3000:]
    return model_dir


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize('moment', ['importing', 'restoring'])
def test_a_signal_while_the_command_starts_ends_in_one_line_and_loses_nothing(trained, idx_dir, tmp_path, signum,
                                                                              moment):
    """'importing': as soon as the command runs (it then imports TensorFlow, reads the data and
    builds the GAN); 'restoring': when the lock of a fresh folder appears (it then writes
    gan.json, restores, traces the step). Whatever it was doing then, one line ends it."""
    model_dir = trained if moment == 'importing' else tmp_path / 'fresh'
    before = checkpoint_files(trained)
    process = start_training(idx_dir, model_dir, '--epochs=1000')
    assert process.stdout.readline() == 'started\n'
    if moment == 'restoring':
        wait_for(model_dir / '.lock', process)
    process.send_signal(signum)
    last = ends_in_one_line(process)
    assert last.startswith(('stopped: interrupted (Ctrl-C or SIGTERM)', 'stopped: Interrupted at step')), last
    assert {name: content for name, content in checkpoint_files(trained).items() if name in before} == before
    assert load_run(trained)


@pytest.mark.parametrize('signals', [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGINT),
                                     (signal.SIGTERM, signal.SIGTERM)])
def test_two_signals_in_a_row_while_training_end_in_one_line_and_lose_nothing(idx_dir, tmp_path, signals):
    model_dir = tmp_path / 'run'
    process = start_training(idx_dir, model_dir, '--epochs=1000')
    wait_for(model_dir / 'history.csv', process)  # an epoch is done and saved
    for signum in signals:
        process.send_signal(signum)
    last = ends_in_one_line(process)
    assert last.startswith(('stopped: Interrupted at step', 'stopped: Stopped at once')), last
    rows = artifacts.read_history(model_dir / 'history.csv')
    assert rows and load_run(model_dir)  # every epoch written so far, and a checkpoint that restores
    assert not [name for name in os.listdir(model_dir / 'checkpoints') if 'temp' in name]


# Runs the tfgan2 command module argv[1] with the arguments after argv[3], sending itself the
# signal argv[2] at the moment argv[3]: as the command starts importing TensorFlow, or as it
# starts writing a SavedModel. The moment is an event in the command, not a delay.
SIGNALLED = '''
import os, runpy, sys
import tfgan2.cli
module, signum, moment = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.argv = [module, *sys.argv[4:]]

class StopAsTensorFlowLoads:
    def find_spec(self, name, path=None, target=None):
        if name == 'tensorflow':
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signum)
        return None

if moment == 'importing':
    sys.meta_path.insert(0, StopAsTensorFlowLoads())
else:
    import tensorflow as tf
    save = tf.saved_model.save
    def signalled_save(*args, **kwargs):
        os.kill(os.getpid(), signum)
        return save(*args, **kwargs)
    tf.saved_model.save = signalled_save
runpy.run_module(module, run_name='__main__')
'''


def signalled(module, signum, moment, *args):
    """Runs tfgan2.cli.`module` as SIGNALLED does; returns its last line (`ends_in_one_line`)."""
    process = subprocess.Popen([sys.executable, '-c', SIGNALLED, f'tfgan2.cli.{module}', str(int(signum)), moment,
                                *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_at_its_default)
    return ends_in_one_line(process)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """(run folder, export base, export path) of a tiny DCGAN exported once."""
    root = tmp_path_factory.mktemp('exported')
    model_dir, path = export_run(str(root), 'dcgan')
    return model_dir, str(root / 'exports'), path


@pytest.mark.parametrize('module, signum', [('export', signal.SIGTERM), ('generate', signal.SIGINT),
                                            ('evaluate', signal.SIGTERM)])
def test_the_other_commands_stopped_as_they_start_end_in_one_line(exported, idx_dir, tmp_path, module, signum):
    model_dir, base, path = exported
    args = {'export': [f'--model_dir={model_dir}', f'--export_base={tmp_path}'],
            'generate': [f'--saved_model={path}', f'--out={tmp_path / "grid.png"}'],
            'evaluate': [f'--model_dir={model_dir}', f'--data={idx_dir}', f'--output={tmp_path / "eval.json"}']}
    assert signalled(module, signum, 'importing', *args[module]) == cli.INTERRUPTED
    assert os.listdir(tmp_path) == []  # nothing half-written


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_an_export_writes_ends_in_one_line_and_loses_nothing(exported, signum):
    model_dir, base, _ = exported
    config = open(os.path.join(base, 'models.config')).read()
    last = signalled('export', signum, 'saving', f'--model_dir={model_dir}', f'--export_base={base}')
    assert last == cli.INTERRUPTED
    assert os.listdir(os.path.join(base, 'dcgan')) == ['1']  # no staging folder, no version 2
    assert open(os.path.join(base, 'models.config')).read() == config
    assert export.load_saved_model(os.path.join(base, 'dcgan', '1'))


@pytest.fixture(scope='module')
def data():
    return synthetic_data()


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize('count', [1, 2])
def test_signals_during_a_save_let_it_finish(tmp_path, data, signum, count):
    """The signals arrive as the save of step 4 begins (sent by this process to itself from the
    checkpoint's write): one stops after the step, as always; a second, which would stop at
    once, waits for the save to end. Either way ckpt-4 is whole."""
    trainer = tiny_trainer(tmp_path, data)  # saves every 2 steps
    write, handler = trainer.state.checkpoint.write, signal.getsignal(signum)

    def signalled_write(prefix, **kwargs):
        if prefix.endswith('ckpt-4'):
            for _ in range(count):
                os.kill(os.getpid(), signum)  # handled before the next line runs
        return write(prefix, **kwargs)
    trainer.state.checkpoint.write = signalled_write
    expected = 'Stopped at once after saving a checkpoint' if count == 2 else 'Interrupted at step 5; saved'
    with pytest.raises(TrainingInterrupted, match=expected):
        trainer.fit(data, epochs=3)
    saved = 'ckpt-4' if count == 2 else 'ckpt-5'
    assert os.path.exists(tmp_path / 'checkpoints' / f'{saved}.index')
    assert load_run(tmp_path, str(tmp_path / 'checkpoints' / 'ckpt-4'))  # whole
    assert not [name for name in os.listdir(tmp_path / 'checkpoints') if 'temp' in name]
    assert signal.getsignal(signum) == handler  # put back as it was
    resumed = tiny_trainer(tmp_path, data)
    resumed.fit(data, epochs=3)
    assert resumed.step == 12
