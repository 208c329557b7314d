"""Streaming input (issue 23, class 4): images read file by file (beyond the memory budget) that
fail to decode mid-epoch end training in one `DataError` naming the file, after saving a
checkpoint of the last step; with the file fixed, a rerun resumes from it."""

import os
import shutil

import imageio.v3 as iio
import numpy as np
import pytest
from conftest import TINY_WIDTHS, synthetic_digits

from tfgan2 import TrainConfig, Trainer, build_gan, data, errors, load_run

COUNT = 40


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """A flat folder of 40 PNGs, 28x28 greyscale."""
    path = tmp_path_factory.mktemp('pngs')
    images, _ = synthetic_digits(COUNT)
    for i, image in enumerate(images):
        iio.imwrite(path / f'{i:03d}.png', image)
    return path


def trainer_for(model_dir, images):
    gan = build_gan('dcgan', images, **TINY_WIDTHS)
    return Trainer(gan, str(model_dir), TrainConfig(batch_size=8, checkpoint_every=1000, seed=3, verbose=False))


def streamed(folder):
    images = data.load(str(folder), memory_budget_mb=0)  # read file by file, every epoch
    assert images.gather is not None and images.find_unreadable is not None
    return images


DAMAGE = {
    'bytes that are no image': (lambda p: p.write_bytes(os.urandom(500)), 'is not an image TensorFlow can decode'),
    'a PNG cut short': (lambda p: p.write_bytes(p.read_bytes()[:60]), 'is not an image TensorFlow can decode'),
    'another size': (lambda p: iio.imwrite(p, np.zeros((32, 32), np.uint8)), 'is 32x32 but the first image is 28x28'),
    'gone': (lambda p: os.remove(p), 'cannot read'),
    'a folder': (lambda p: (os.remove(p), os.mkdir(p)), 'cannot read'),
}


@pytest.mark.parametrize('damage', DAMAGE)
def test_a_file_that_fails_mid_epoch_is_named_after_saving_the_last_step(folder, tmp_path, damage):
    copy = shutil.copytree(folder, tmp_path / 'images')
    images = streamed(copy)
    victim = copy / '017.png'  # not the first file, which sets the image shape
    original = victim.read_bytes()
    trainer = trainer_for(tmp_path / 'run', images)
    trainer.fit(images, epochs=1)  # one clean epoch: 5 steps, ckpt-5
    corrupt, words = DAMAGE[damage]
    corrupt(victim)
    with pytest.raises(errors.DataError) as error:
        trainer.fit(images, epochs=2)
    message = str(error.value)
    assert message.startswith(str(victim)) or f'read {victim}' in message, message
    assert words in message and '\n' not in message
    step = trainer.step
    assert 5 <= step < 10 and message.endswith(f'The last checkpoint is {tmp_path}/run/checkpoints/ckpt-{step}; '
                                               f'train again to resume from it.')
    assert load_run(tmp_path / 'run', str(tmp_path / 'run' / 'checkpoints' / f'ckpt-{step}'))

    if victim.is_dir():
        victim.rmdir()
    victim.write_bytes(original)  # fixed: the rerun goes on from the saved step
    resumed = trainer_for(tmp_path / 'run', streamed(copy))
    resumed.fit(streamed(copy), epochs=2)
    assert resumed.step == 10 and [row['epoch'] for row in resumed.history] == [1, 2]


def test_other_errors_while_streaming_are_not_blamed_on_a_file(folder, tmp_path, monkeypatch):
    """When every file reads, the error of the step is raised as it is (a bug is not a bad file)."""
    images = streamed(folder)
    trainer = trainer_for(tmp_path / 'run', images)
    import tensorflow as tf

    def failing_run(batches, steps):
        raise tf.errors.InternalError(None, None, 'something inside TensorFlow')
        yield
    monkeypatch.setattr(trainer.step_function, 'run', failing_run)
    with pytest.raises(tf.errors.InternalError, match='something inside TensorFlow'):
        trainer.fit(images, epochs=1)
