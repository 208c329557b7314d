"""The run folder under faults and hostile input: damaged checkpoints and state files, a second
process, changed batch settings, Ctrl-C, gan.json as untrusted data, and paths that cannot be
written."""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import PATIENCE_S, Crash, crash_after, ctrl_c_at_its_default, synthetic_data, tiny_trainer, wait_for

from tfgan2 import artifacts, export, load_run, run, serving, storage


@pytest.fixture(scope='module')
def data():
    return synthetic_data()  # 200 images: 4 steps of batch 64 per epoch


def checkpoint_files(model_dir):
    return sorted(os.listdir(os.path.join(model_dir, 'checkpoints')))


def weights(gan):
    return [v.numpy() for v in gan.weights]


@pytest.fixture
def two_epochs(tmp_path, data):
    """A finished run of 2 epochs (checkpoints at steps 4, 6 and 8) and its weights."""
    trainer = tiny_trainer(tmp_path, data)
    trainer.fit(data, epochs=2)
    return tmp_path, weights(trainer.gan)


def test_a_garbage_state_file_changes_nothing(two_epochs, data):
    model_dir, trained = two_epochs
    (model_dir / 'checkpoints' / 'checkpoint').write_text('not a checkpoint state {{{')
    resumed = tiny_trainer(model_dir, data)
    resumed.fit(data, epochs=2)
    assert resumed.step == 8
    for a, b in zip(weights(resumed.gan), trained):
        np.testing.assert_array_equal(a, b)


def test_a_damaged_latest_checkpoint_falls_back_to_the_one_before(two_epochs, data, caplog):
    model_dir, _ = two_epochs
    os.remove(model_dir / 'checkpoints' / 'ckpt-8.index')
    with open(model_dir / 'checkpoints' / 'ckpt-6.data-00000-of-00001', 'r+b') as f:
        f.truncate(100)  # a torn write
    history_before = (model_dir / 'history.csv').read_text()
    resumed = tiny_trainer(model_dir, data)
    resumed.fit(data, epochs=2)
    assert 'ckpt-6' in caplog.text and 'damaged' in caplog.text
    assert resumed.step == 8 and resumed.epoch == 2  # retrained steps 5-8 from ckpt-4
    rows = artifacts.read_history(model_dir / 'history.csv')
    assert [row['epoch'] for row in rows] == [1, 2]
    assert history_before.splitlines()[1] == (model_dir / 'history.csv').read_text().splitlines()[1]


def test_no_readable_checkpoint_is_refused_and_nothing_is_overwritten(two_epochs, data):
    model_dir, _ = two_epochs
    for name in checkpoint_files(model_dir):
        if name.endswith('.index'):
            (model_dir / 'checkpoints' / name).write_bytes(b'garbage')
    before = {p: p.read_bytes() for p in model_dir.rglob('*') if p.is_file() and p.name != '.lock'}
    with pytest.raises(run.CheckpointError, match='No checkpoint of .* can be read.*Move the damaged files away'):
        tiny_trainer(model_dir, data).fit(data, epochs=3)
    assert before == {p: p.read_bytes() for p in model_dir.rglob('*') if p.is_file() and p.name != '.lock'}


def test_outputs_without_checkpoints_are_not_started_over(two_epochs, data):
    model_dir, _ = two_epochs
    for name in checkpoint_files(model_dir):
        os.remove(model_dir / 'checkpoints' / name)
    with pytest.raises(run.CheckpointError, match='outputs of a run but no checkpoint'):
        tiny_trainer(model_dir, data).fit(data, epochs=3)
    assert [row['epoch'] for row in artifacts.read_history(model_dir / 'history.csv')] == [1, 2]


def test_a_published_checkpoint_is_never_written_twice(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data, checkpoint_every=4)  # epoch ends are multiples of 4
    written = []
    write = trainer.state.checkpoint.write
    trainer.state.checkpoint.write = lambda prefix, **kwargs: written.append(prefix) or write(prefix, **kwargs)
    trainer.fit(data, epochs=3)
    assert [os.path.basename(p) for p in written] == ['ckpt-4', 'ckpt-8', 'ckpt-12']


def test_a_different_model_names_what_differs_and_a_foreign_checkpoint_says_so(tmp_path, data):
    tiny_trainer(tmp_path, data).fit(data, epochs=1)
    with pytest.raises(ValueError, match=r'differs in model dcgan \(asked: cgan\)'):
        tiny_trainer(tmp_path, data, model='cgan').fit(data, epochs=2)
    record = json.loads((tmp_path / 'gan.json').read_text())
    record['config']['kernel_size'] = 3  # the record now disagrees with the checkpoint
    (tmp_path / 'gan.json').write_text(json.dumps(record))
    with pytest.raises(run.CheckpointError, match='does not fit this GAN'):
        load_run(tmp_path)


@pytest.mark.parametrize('change', [dict(batch_size=48), dict(steps_per_epoch=1), dict(batch_size=16)])
def test_changed_batch_settings_continue_the_epoch_with_its_unseen_images(tmp_path, data, change):
    with pytest.raises(Crash):  # after step 7: ckpt-6 holds 128 of epoch 2's 200 images
        tiny_trainer(tmp_path, data).fit(data, epochs=3, callbacks=[crash_after(7)])
    resumed = tiny_trainer(tmp_path, data, **change)
    seen = []  # (epochs complete, images of the current epoch trained on) after each step
    resumed.fit(data, epochs=3, callbacks=[keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append((resumed.epoch, resumed.state.progress.examples)))])
    epoch_end = min(200, 64 * change.get('steps_per_epoch', 4))
    second = [examples for epoch, examples in seen if epoch == 1]
    # Epoch 2 trains its 72 unseen images in the new batch size, or nothing once past a new cap.
    assert second == ([] if epoch_end < 128 else list(range(128, 200, change['batch_size']))[1:] + [200])
    assert [examples for epoch, examples in seen if epoch == 2][-1] == epoch_end
    rows = resumed.history
    assert [row['epoch'] for row in rows] == [1, 2, 3] and resumed.epoch == 3
    assert all(np.isfinite(row['g_loss']) and row['images_per_second'] > 0 for row in rows)

def test_a_second_trainer_on_the_same_folder_is_refused_naming_the_first(tmp_path, data):
    process = subprocess.Popen([sys.executable, '-c', TRAIN_FOREVER, str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / 'checkpoints', process)
        with pytest.raises(storage.FolderInUseError, match=f'in use by process {process.pid} .* Wait for it'):
            tiny_trainer(tmp_path, data).fit(data, epochs=1)
    finally:
        process.kill()
        process.wait()
    tiny_trainer(tmp_path, data, batch_size=16).fit(data, additional_epochs=1)  # a dead holder blocks nothing


def test_the_lock_on_an_object_store_names_a_live_holder_and_expires(data):
    folder = 'ram://locks/run'
    first = storage.FolderLock(folder).acquire()
    with pytest.raises(storage.FolderInUseError, match=rf'in use by process {os.getpid()} .*last seen \d+ s ago'):
        storage.FolderLock(folder).acquire()
    holder = json.loads(storage.read_text(f'{folder}/.lock'))
    holder['heartbeat'] -= 601  # silent for longer than stale_after (600 s): counts as dead
    storage.write_atomically(f'{folder}/.lock', json.dumps(holder))
    assert storage.FolderLock(folder).acquire()
    first.release()


TRAIN_FOREVER = """
import sys
sys.path.insert(0, 'tests')
from conftest import synthetic_data, tiny_trainer
data = synthetic_data()
tiny_trainer(sys.argv[1], data, batch_size=16, checkpoint_every=5).fit(data, epochs=10**6)
"""


def test_ctrl_c_saves_the_last_step_and_says_how_to_resume(tmp_path):
    process = subprocess.Popen([sys.executable, '-c', TRAIN_FOREVER, str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_at_its_default)
    wait_for(tmp_path / 'history.csv', process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=PATIENCE_S)
    assert process.returncode != 0
    assert 'TrainingInterrupted: Interrupted at step' in stderr and 'to resume' in stderr
    step = int(stderr.split('Interrupted at step ')[-1].split(';')[0])
    assert tf.train.latest_checkpoint(str(tmp_path / 'checkpoints')).endswith(f'ckpt-{step}')
    assert np.isfinite(load_run(tmp_path).sample(4)).all()  # the checkpoint restores


@pytest.mark.parametrize('content, message', [
    ('[1, 2]', 'expected a JSON object with model, config and data'),
    ('{"model": "evilgan", "config": {}, "data": {}}', "unknown model 'evilgan'"),
    ('{not json', 'is not valid JSON'),
])
def test_gan_json_is_checked_as_data(tmp_path, content, message):
    (tmp_path / 'gan.json').write_text(content)
    with pytest.raises(run.RunRecordError, match=message):
        load_run(tmp_path)


def test_a_data_name_from_gan_json_never_reaches_a_path(two_epochs):
    model_dir, _ = two_epochs
    record = json.loads((model_dir / 'gan.json').read_text())
    record['data']['name'] = '../../../../tmp/planted'
    (model_dir / 'gan.json').write_text(json.dumps(record))
    with pytest.raises(run.RunRecordError, match='is not a short name'):
        run.RunDir(model_dir).read_record()


def test_a_model_dir_that_is_a_file_or_read_only_is_one_clear_error(tmp_path, data):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ValueError, match='is a file, not a folder'):
        tiny_trainer(tmp_path / 'file', data).fit(data, epochs=1)
    if os.geteuid() == 0:
        pytest.skip('root writes into read-only folders')
    readonly = tmp_path / 'readonly'
    readonly.mkdir(mode=0o555)
    with pytest.raises(ValueError, match='Cannot write in'):
        tiny_trainer(readonly, data).fit(data, epochs=1)


def test_train_resume_export_generate_on_an_object_store(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so a path mistaken for a local one would land here
    model_dir, export_base = 'ram://runs/cycle', 'ram://exports'
    tiny_trainer(model_dir, data).fit(data, epochs=1)
    resumed = tiny_trainer(model_dir, data)
    resumed.fit(data, epochs=2)
    assert resumed.step == 8
    assert tf.io.gfile.exists(f'{model_dir}/images/epoch_0002.png')
    assert tf.io.gfile.exists(f'{model_dir}/training.gif')
    path = export.export_generator(load_run(model_dir), export_base, 'dcgan')
    assert path == f'{export_base}/dcgan/1' and tf.io.gfile.exists(f'{export_base}/models.config')
    loaded = export.load_saved_model(f'{export_base}/dcgan')
    images, _ = serving.generate(loaded.signatures['from_seed'], [], 4, seed=3)
    assert images.shape == (4, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    assert os.listdir(tmp_path) == []  # nothing landed in a local folder named like the URL
