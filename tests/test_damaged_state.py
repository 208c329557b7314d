"""Damaged state is repaired, not repeated (issue 23, classes 1, 2 and 8): a damaged newest
checkpoint is trained and saved again and set aside, the run's own records (gan.json,
history.csv, the lock) are checked before training, and a callback that raises never leaves the
trainer ahead of its files."""

import json
import os

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_data, tiny_trainer

from tfgan2 import artifacts, errors, load_run, models, run, storage


@pytest.fixture(scope='module')
def data():
    return synthetic_data()  # 200 images: 4 steps of batch 64 per epoch


@pytest.fixture(scope='module')
def finished(tmp_path_factory, data):
    """A run of 2 epochs (checkpoints at steps 4, 6 and 8), its folder's files and its weights."""
    model_dir = tmp_path_factory.mktemp('finished')
    tf.config.experimental.enable_op_determinism()
    trainer = tiny_trainer(model_dir, data)
    trainer.fit(data, epochs=2)
    return model_dir, files(model_dir), weights(trainer.gan)


def files(folder):
    """{relative path: bytes} of every file under `folder` but the lock."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob('*') if p.is_file() and p.name != '.lock'}


def copy_of(finished, tmp_path):
    model_dir, saved, _ = finished
    for name, content in saved.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    return tmp_path


def weights(gan):
    return [v.numpy() for v in gan.weights]


def truncate(path, size=100):
    with open(path, 'r+b') as f:
        f.truncate(size)


# Each way a checkpoint's files get damaged: torn, overwritten, or half gone.
DAMAGE = {
    'data file cut short': lambda ckpt: truncate(ckpt / 'ckpt-8.data-00000-of-00001'),
    'index overwritten': lambda ckpt: (ckpt / 'ckpt-8.index').write_bytes(os.urandom(300)),
    'data file gone': lambda ckpt: os.remove(ckpt / 'ckpt-8.data-00000-of-00001'),
    'index gone, data left': lambda ckpt: os.remove(ckpt / 'ckpt-8.index'),
}


@pytest.mark.parametrize('damage', DAMAGE)
def test_a_damaged_newest_checkpoint_is_trained_and_saved_again_and_set_aside(finished, data, tmp_path, damage,
                                                                              caplog):
    model_dir = copy_of(finished, tmp_path)
    DAMAGE[damage](model_dir / 'checkpoints')
    resumed = tiny_trainer(model_dir, data)
    resumed.fit(data, epochs=2)  # the same --epochs as the finished run
    assert resumed.step == 8 and 'Moved ckpt-8 to' in caplog.text and 'saved again' in caplog.text
    assert os.listdir(model_dir / 'checkpoints' / 'damaged')  # moved aside, not deleted
    assert os.path.exists(model_dir / 'checkpoints' / 'ckpt-8.index')  # saved again
    for a, b in zip(weights(load_run(model_dir)), finished[2]):  # as the uninterrupted run ended
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    caplog.clear()
    again = tiny_trainer(model_dir, data)
    again.fit(data, epochs=2)  # a rerun no longer falls back
    assert again.step == 8 and 'trying the one before it' not in caplog.text and 'Moved' not in caplog.text
    assert run.RunDir(model_dir).load_gan(fallback=False)  # and an export takes the newest


def test_an_export_never_takes_older_weights_without_saying_so(finished, tmp_path):
    model_dir = copy_of(finished, tmp_path)
    truncate(model_dir / 'checkpoints' / 'ckpt-8.data-00000-of-00001')
    with pytest.raises(run.CheckpointError, match=r'newest checkpoint .* is damaged .*ckpt-8.* newest readable '
                                                   r'one is .*ckpt-6\. Train again .* checkpoint=.*ckpt-6'):
        run.RunDir(model_dir).load_gan(fallback=False)
    older = run.RunDir(model_dir).load_gan(str(model_dir / 'checkpoints' / 'ckpt-6'), fallback=False)
    assert older  # asked for by name: exported as asked
    assert sorted(os.listdir(model_dir / 'checkpoints')) == sorted(
        name.split('/')[-1] for name in finished[1] if name.startswith('checkpoints/'))  # reading moved nothing


# ---- gan.json ----

def rewrite_record(model_dir, change):
    record = json.loads((model_dir / 'gan.json').read_text())
    change(record)
    (model_dir / 'gan.json').write_text(json.dumps(record))


RECORDS = {
    'garbage text': (lambda d: (d / 'gan.json').write_text('gan: dcgan\nepochs: 2\n'), 'is not valid JSON'),
    'random bytes': (lambda d: (d / 'gan.json').write_bytes(os.urandom(2000)), 'is not valid JSON'),
    'nested too deep': (lambda d: (d / 'gan.json').write_text('[' * 100_000), 'is not valid JSON'),
    'absurd file size': (lambda d: truncate(d / 'gan.json', run.MAX_RECORD_BYTES + 1), 'far more than a file'),
    'a list': (lambda d: (d / 'gan.json').write_text('[]'), 'expected a JSON object'),
    'model a number': (lambda d: rewrite_record(d, lambda r: r.update(model=3)), 'unknown model 3'),
    'noise_dim a string': (lambda d: rewrite_record(d, lambda r: r['config'].update(noise_dim='8')),
                           "noise_dim='8': give a whole number"),
    'noise_dim true': (lambda d: rewrite_record(d, lambda r: r['config'].update(noise_dim=True)),
                       'noise_dim=True: give a whole number'),
    'noise_dim of a million': (lambda d: rewrite_record(d, lambda r: r['config'].update(noise_dim=10**6)),
                               'generator of about .* weights, more than'),
    'widths of a million': (lambda d: rewrite_record(d, lambda r: r['config'].update(
        discriminator_widths=[10**6, 10**6])), 'discriminator of about .* weights'),
    'kernel_size 0': (lambda d: rewrite_record(d, lambda r: r['config'].update(kernel_size=0)),
                      'kernel_size=0: use a value of at least 1'),
    'dropout NaN': (lambda d: rewrite_record(d, lambda r: r['config'].update(dropout=float('nan'))),
                    'dropout=nan: use a finite number'),
    'dropout 2': (lambda d: rewrite_record(d, lambda r: r['config'].update(dropout=2)),
                  r'dropout=2.0: use a value in \[0, 1\)'),
    'unknown setting': (lambda d: rewrite_record(d, lambda r: r['config'].update(planted=1)),
                        'planted do\\(es\\) not apply to dcgan'),
    'image_shape a string': (lambda d: rewrite_record(d, lambda r: r['config'].update(image_shape='28x28')),
                             "image_shape='28x28' is not"),
    'image side of a million': (lambda d: rewrite_record(d, lambda r: r['data'].update(image_shape=[10**6, 28, 1])),
                                'sides from 1 to 4096'),
    'source a number': (lambda d: rewrite_record(d, lambda r: r['data'].update(source=1)),
                        'data source must be a string'),
    'class names of another length': (lambda d: rewrite_record(d, lambda r: r['data'].update(class_names=['a'])),
                                      'class_names must be null or a list of num_classes strings'),
    'config without image_shape': (lambda d: rewrite_record(d, lambda r: r['config'].pop('image_shape')),
                                   'config must have the image_shape'),
    'a thousand layers': (lambda d: rewrite_record(d, lambda r: r['config'].update(generator_widths=[8] * 1000)),
                          'generator_widths lists 1000 widths: use at most 64 layers'),
}


@pytest.mark.parametrize('damage', RECORDS)
def test_a_damaged_gan_json_is_refused_at_start_naming_it_before_anything_is_built(finished, data, tmp_path,
                                                                                   damage, monkeypatch):
    model_dir = copy_of(finished, tmp_path)
    corrupt, words = RECORDS[damage]
    corrupt(model_dir)
    before = files(model_dir)
    trainer = tiny_trainer(model_dir, data)
    monkeypatch.setattr(models, 'build_gan', lambda *a, **k: pytest.fail('built a GAN from a damaged record'))
    for attempt in (lambda: trainer.fit(data, epochs=3), lambda: load_run(model_dir)):
        with pytest.raises(run.RunRecordError, match=f'{model_dir / "gan.json"} .*{words}') as error:
            attempt()
        assert '\n' not in str(error.value) and 'from a copy' in str(error.value)
    assert trainer.step == 0 and files(model_dir) == before  # nothing trained, nothing lost


# Settings of the right types and sizes that the model itself refuses: building from the record
# is how they are found, and they are named as damage to gan.json, not as another run's settings.
REFUSED_BY_THE_MODEL = {
    'a negative weight': (dict(lecam_weight=-1.0), 'lecam_weight=-1.0: use a value at least 0'),
    'a penalty every 0 steps': (dict(penalty_every=0), 'penalty_every=0: use a value at least 1'),
    'an unknown augmentation': (dict(augment='blur'), "augment='blur': list operations from"),
    'an excitation the stages cannot hold': (dict(skip_excitation=True), 'skip_excitation gates the last map'),
}


@pytest.mark.parametrize('damage', REFUSED_BY_THE_MODEL)
def test_settings_the_model_refuses_in_gan_json_are_named_as_damage_to_it(finished, data, tmp_path, damage):
    model_dir = copy_of(finished, tmp_path)
    settings, words = REFUSED_BY_THE_MODEL[damage]
    rewrite_record(model_dir, lambda r: r['config'].update(settings))
    before = files(model_dir)
    trainer = tiny_trainer(model_dir, data)
    for attempt in (lambda: trainer.fit(data, epochs=3), lambda: load_run(model_dir)):
        with pytest.raises(run.RunRecordError, match=f'{model_dir / "gan.json"} is not a tfgan2 run record: '
                                                     f'{words}.*Restore it from a copy') as error:
            attempt()
        assert '\n' not in str(error.value)
    assert trainer.step == 0 and files(model_dir) == before


@pytest.mark.parametrize('kind, settings, words', [
    ('infogan', dict(code_dim=10**7), 'a generator of about .* weights'),
    ('acgan', dict(num_classes=60_000, noise_dim=8, generator_widths=[16, 8], discriminator_widths=[8, 512]),
     'a discriminator of about .* weights'),  # its two class heads
    ('cgan', dict(num_classes=10**6), 'num_classes=1000000: use at most 65536'),
    ('selfcond', dict(clusters=10**6), 'clusters=1000000: use at most 65536'),
    ('dcgan', dict(discriminator_widths=[8] * 65), 'discriminator_widths lists 65 widths'),
    ('dcgan', dict(noise_dim=float('inf')), 'noise_dim=inf: give a whole number'),
])
def test_sizes_from_flags_or_a_record_are_bounded_before_anything_is_built(kind, settings, words):
    """Every count that sizes a network is in the estimate or bounded on its own, whichever
    model declares it (the code, labels, clusters, layers)."""
    with pytest.raises(errors.ConfigError, match=words):
        run.check_settings(kind, {'image_shape': (32, 32, 3), **settings})
    fitting = {name: [8] * 2 if name.endswith('_widths') else 8 for name in settings
               if name not in ('noise_dim', 'num_classes')}
    run.check_settings(kind, {'image_shape': (32, 32, 3), 'num_classes': 10, **fitting})  # a size that fits


# ---- history.csv ----

def edit_cells(path, row, column, value):
    """Sets one cell of a CSV file (row 0 is the header)."""
    lines = [line.split(',') for line in path.read_text().splitlines()]
    lines[row][column] = value
    path.write_text('\n'.join(','.join(cells) for cells in lines) + '\n')


def reorder_rows(path, order):
    lines = path.read_text().splitlines()
    path.write_text('\n'.join(lines[i] for i in order) + '\n')


HISTORIES = {
    'garbage text': (lambda h: h.write_text('this is not a table\nat all\n'), 'does not name the epoch and step'),
    'random bytes': (lambda h: h.write_bytes(os.urandom(3000)), 'damaged'),
    'a word for a loss': (lambda h: edit_cells(h, 1, 2, 'oops'), 'could not convert string'),
    'a fractional epoch': (lambda h: edit_cells(h, 1, 0, '1.5'), 'whole epoch'),
    'epochs out of order': (lambda h: reorder_rows(h, (0, 2, 1)), r'its epochs are \[2, 1\]'),
    'a row longer than the header': (lambda h: edit_cells(h, 2, 1, '8,9,9'), 'cells do not match the header'),
    'empty': (lambda h: h.write_bytes(b''), 'does not name the epoch and step'),
    'absurd size': (lambda h: truncate(h, artifacts.MAX_HISTORY_BYTES + 1), 'far more than a file'),
}


@pytest.mark.parametrize('damage', HISTORIES)
def test_a_damaged_history_is_refused_before_training_not_after_an_epoch(finished, data, tmp_path, damage):
    model_dir = copy_of(finished, tmp_path)
    corrupt, words = HISTORIES[damage]
    corrupt(model_dir / 'history.csv')
    before = files(model_dir)
    trainer = tiny_trainer(model_dir, data)
    with pytest.raises(errors.RunError, match=f'{model_dir / "history.csv"} .*{words}') as error:
        trainer.fit(data, epochs=3)
    assert 'restore it from a copy, or move it away' in str(error.value) and '\n' not in str(error.value)
    assert trainer.step == 0 and files(model_dir) == before
    os.remove(model_dir / 'history.csv')  # the fix the message names: training goes on
    trainer.fit(data, epochs=3)
    assert [row['epoch'] for row in trainer.history] == [3]


# ---- the lock ----

@pytest.mark.parametrize('content', [b'garbage', os.urandom(5000), b'{"pid": [1], "heartbeat": "soon"}', b''])
def test_a_damaged_lock_file_is_taken_over_locally(finished, data, tmp_path, content):
    model_dir = copy_of(finished, tmp_path)
    (model_dir / '.lock').write_bytes(content)
    trainer = tiny_trainer(model_dir, data)
    trainer.fit(data, epochs=3)  # nobody holds the flock: the lock is rewritten
    assert trainer.epoch == 3


@pytest.mark.parametrize('content', [b'\xff\xfe not text', b'{"heartbeat": "yesterday"}', b'{"heartbeat": 1e300}',
                                     b'{"heartbeat": Infinity}', b'{"heartbeat": NaN}', b'[' * 50_000, b'7'])
def test_a_damaged_lock_on_an_object_store_is_taken_over(content, caplog):
    folder = f'ram://damaged-locks/{abs(hash(content))}'
    storage.write_atomically(f'{folder}/.lock', content)
    lock = storage.FolderLock(folder).acquire()
    assert 'damaged' in caplog.text and f'{folder}/.lock' in caplog.text
    assert json.loads(storage.read_text(f'{folder}/.lock'))['pid'] == os.getpid()
    lock.release()


# ---- callbacks that raise ----

class Boom(Exception):
    pass


class RaiseOnce(keras.callbacks.Callback):
    """Raises `Boom` once, from `hook`, in the second epoch: a user's callback gone wrong."""

    def __init__(self, hook):
        super().__init__()
        self.hook, self.epoch, self.raised = hook, 0, False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._maybe_raise('on_epoch_begin')

    def on_train_batch_begin(self, batch, logs=None):
        self._maybe_raise('on_train_batch_begin')

    def on_train_batch_end(self, batch, logs=None):
        self._maybe_raise('on_train_batch_end')

    def on_epoch_end(self, epoch, logs=None):
        self._maybe_raise('on_epoch_end')

    def _maybe_raise(self, hook):
        if hook == self.hook and self.epoch == 1 and not self.raised:
            self.raised = True
            raise Boom(hook)


@pytest.mark.parametrize('hook', ['on_epoch_end', 'on_epoch_begin', 'on_train_batch_begin', 'on_train_batch_end'])
def test_a_callback_that_raises_never_leaves_the_trainer_ahead_of_its_files(tmp_path, data, hook):
    trainer = tiny_trainer(tmp_path, data)
    with pytest.raises(Boom):
        trainer.fit(data, epochs=3, callbacks=[RaiseOnce(hook)])
    assert trainer.epoch == 1  # the epoch whose callback failed is not counted
    trainer.fit(data, epochs=3)  # the same process goes on: no epoch's outputs are skipped
    assert [row['epoch'] for row in artifacts.read_history(tmp_path / 'history.csv')] == [1, 2, 3]
    assert sorted(os.listdir(tmp_path / 'images')) == ['epoch_0001.png', 'epoch_0002.png', 'epoch_0003.png']
    assert iio.imread(tmp_path / 'training.gif', index=None).shape[0] == 3
    assert trainer.step == 12 and load_run(tmp_path)


def test_a_misconfigured_keras_model_checkpoint_then_a_fixed_one(tmp_path, data):
    """A ModelCheckpoint whose file name asks for a figure the logs lack fails at the first
    epoch end; refitting with a working one misses nothing."""
    trainer = tiny_trainer(tmp_path / 'run', data)
    broken = keras.callbacks.ModelCheckpoint(str(tmp_path / 'gan-{val_loss:.2f}.keras'))
    with pytest.raises(KeyError):
        trainer.fit(data, epochs=2, callbacks=[broken])
    fixed = keras.callbacks.ModelCheckpoint(str(tmp_path / 'gan-{epoch}.keras'))
    trainer.fit(data, epochs=2, callbacks=[fixed])
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith('.keras')) == ['gan-1.keras', 'gan-2.keras']
    assert [row['epoch'] for row in trainer.history] == [1, 2]
