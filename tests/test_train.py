"""The shared training loop: tracing, exact resume, kill -9 safety, NaN stop and artifacts."""

import json
import os
import signal
import subprocess
import sys
import time

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_WIDTHS
from tfgan2 import artifacts, data, models
from tfgan2.train import NonFiniteLossError, TrainConfig, Trainer


def make_trainer(model_dir, info, **overrides):
    config = dict(model_dir=str(model_dir), epochs=2, batch_size=64, checkpoint_every=2,
                  seed=7, verbose=False)
    config.update(overrides)
    tf.keras.utils.set_random_seed(config['seed'])
    gan = models.build_gan('dcgan', info.image_shape, info.num_classes, **TINY_WIDTHS)
    return Trainer(gan, TrainConfig(**config))


@pytest.fixture(scope='module')
def info(idx_dir):
    return data.load_dataset('fashion_mnist', data_dir=idx_dir)


def weights(trainer):
    return [v.numpy() for v in trainer.gan.generator.variables + trainer.gan.discriminator.variables]


def averaged_weights(trainer):
    with trainer.averaged_generator():
        return [v.numpy() for v in trainer.gan.generator.weights]


def test_step_traces_once_despite_partial_batches(tmp_path, info):
    trainer = make_trainer(tmp_path, info)  # 200 images / 64 -> a last batch of 8 every epoch
    history = trainer.fit(info)
    assert trainer.train_step.experimental_get_tracing_count() == 1
    assert [row['epoch'] for row in history] == [1, 2]
    assert int(trainer.step.numpy()) == 8


def test_artifacts_written_per_epoch(tmp_path, info):
    make_trainer(tmp_path, info, epochs=3).fit(info)
    grids = sorted(os.listdir(tmp_path / 'images'))
    assert grids == ['epoch_0001.png', 'epoch_0002.png', 'epoch_0003.png']
    grid = iio.imread(tmp_path / 'images' / 'epoch_0001.png')
    assert grid.shape == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 tiles of 28 px with 2 px padding
    frames = iio.imread(tmp_path / 'training.gif', index=None)
    assert frames.shape[0] == 3
    history = artifacts.read_history(tmp_path / 'history.csv')
    assert [row['epoch'] for row in history] == [1, 2, 3]
    assert all(np.isfinite(row['g_loss']) and row['images_per_second'] > 0 for row in history)
    assert (tmp_path / 'losses.png').stat().st_size > 0
    assert any(name.startswith('events.out.tfevents') for name in os.listdir(tmp_path / 'logs'))
    assert (tmp_path / 'gan.json').exists()
    umask = os.umask(0)
    os.umask(umask)
    for published in ('training.gif', 'history.csv', 'images/epoch_0001.png'):
        assert os.stat(tmp_path / published).st_mode & 0o777 == 0o666 & ~umask  # not owner-only


class Interrupt(Exception):
    pass


def interrupt_after(trainer, steps):
    """Makes the trainer's step raise once `steps` more steps have run, like a crash."""
    step_fn, calls = trainer.train_step, []

    def step(images, labels):
        if len(calls) == steps:
            raise Interrupt()
        calls.append(1)
        return step_fn(images, labels)
    trainer.train_step = step


def test_resume_mid_epoch_matches_uninterrupted_run(tmp_path, info):
    tf.config.experimental.enable_op_determinism()
    straight = make_trainer(tmp_path / 'straight', info)
    straight.fit(info)

    first = make_trainer(tmp_path / 'resumed', info)
    interrupt_after(first, 6)  # epoch 2, step 6 of 8; checkpoint_every=2 saved step 6
    with pytest.raises(Interrupt):
        first.fit(info)
    resumed = make_trainer(tmp_path / 'resumed', info)
    resumed.fit(info)

    assert int(resumed.step.numpy()) == int(straight.step.numpy()) == 8
    assert int(resumed.epoch.numpy()) == 2
    np.testing.assert_array_equal(resumed.preview_noise.numpy(), straight.preview_noise.numpy())
    for a, b in zip(weights(resumed) + averaged_weights(resumed), weights(straight) + averaged_weights(straight)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    history = artifacts.read_history(tmp_path / 'resumed' / 'history.csv')
    assert [row['epoch'] for row in history] == [1, 2]


def test_rerun_after_finishing_trains_only_the_new_epochs(tmp_path, info):
    make_trainer(tmp_path, info, epochs=1).fit(info)
    more = make_trainer(tmp_path, info, epochs=2)
    history = more.fit(info)
    assert [row['epoch'] for row in history] == [1, 2]
    assert int(more.step.numpy()) == 8
    assert more.train_step.experimental_get_tracing_count() == 1


def test_resume_with_other_model_flags_is_refused(tmp_path, info):
    make_trainer(tmp_path, info, epochs=1).fit(info)
    gan = models.build_gan('dcgan', info.image_shape, info.num_classes, noise_dim=16,
                           generator_widths=(16, 8), discriminator_widths=(8, 16))
    with pytest.raises(ValueError, match='new --model_dir'):
        Trainer(gan, TrainConfig(model_dir=str(tmp_path), verbose=False)).fit(info)


def test_run_recorded_by_an_older_tfgan2_resumes_with_the_defaults_it_trained_with(tmp_path, info):
    def acgan_trainer(epochs, **hyperparameters):
        tf.keras.utils.set_random_seed(7)
        gan = models.build_gan('acgan', info.image_shape, info.num_classes, **TINY_WIDTHS, **hyperparameters)
        return Trainer(gan, TrainConfig(model_dir=str(tmp_path), epochs=epochs, verbose=False))

    acgan_trainer(1, class_weight=1.0).fit(info)
    spec = json.loads((tmp_path / 'gan.json').read_text())
    del spec['hyperparameters']['class_weight']  # as recorded before ACGAN's default became 0.1
    (tmp_path / 'gan.json').write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r'differs in class_weight 1.0 \(asked: 0.1\)'):
        acgan_trainer(2).fit(info)
    assert [row['epoch'] for row in acgan_trainer(2, class_weight=1.0).fit(info)] == [1, 2]
    assert models.load_gan(str(tmp_path)).class_weight == 1.0


def test_spec_records_the_values_a_model_resolves_from_none(info):
    supervised = models.build_gan('infogan', info.image_shape, info.num_classes, **TINY_WIDTHS)
    unsupervised = models.build_gan('infogan', info.image_shape, info.num_classes, **TINY_WIDTHS,
                                    supervised=False)
    assert supervised.spec['hyperparameters']['categorical_weight'] == 0.1
    assert supervised.spec['hyperparameters']['fake_class_weight'] == 0.0
    assert supervised.spec['hyperparameters']['dropout'] == 0.0
    assert unsupervised.spec['hyperparameters']['categorical_weight'] == 1.0
    assert unsupervised.spec['hyperparameters']['fake_class_weight'] == 1.0
    assert unsupervised.spec['hyperparameters']['dropout'] == 0.3


def test_spec_without_a_later_hyperparameter_reads_as_the_value_it_trained_with(tmp_path):
    # InfoGAN's dropout was 0.3 for every run before its default became None (resolved to 0).
    (tmp_path / 'gan.json').write_text(json.dumps(
        {'model': 'infogan', 'image_shape': [28, 28, 1], 'num_classes': 10, 'hyperparameters': {}}))
    hyperparameters = models.read_spec(str(tmp_path))['hyperparameters']
    assert hyperparameters['dropout'] == 0.3 and hyperparameters['categorical_weight'] == 1.0


def test_checkpoint_of_an_older_tfgan2_is_refused_as_such_and_kept(tmp_path, info):
    trainer = make_trainer(tmp_path, info)
    # Before Dropout's seed states were saved, a checkpoint held a tf.random.Generator instead.
    older = tf.train.Checkpoint(generator=trainer.gan.generator, discriminator=trainer.gan.discriminator,
                                step=trainer.step, epoch=trainer.epoch, rng=tf.random.Generator.from_seed(0))
    path = older.save(str(tmp_path / 'checkpoints' / 'ckpt'))
    with pytest.raises(ValueError, match='older tfgan2, which did not save .*layer_seeds.*new --model_dir'):
        make_trainer(tmp_path, info).fit(info)
    assert tf.train.latest_checkpoint(str(tmp_path / 'checkpoints')) == path


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, info):
    make_trainer(tmp_path, info, epochs=1).fit(info)
    images, labels = next(iter(info.dataset.batch(200)))
    poisoned = images.numpy()
    poisoned[::2] = np.nan  # every batch of epoch 2 holds NaN images
    bad = data.DatasetInfo(info.name, tf.data.Dataset.from_tensor_slices((poisoned, labels)),
                           info.image_shape, info.num_classes, 200, info.class_names, 'poisoned')
    trainer = make_trainer(tmp_path, bad, epochs=2)
    with pytest.raises(NonFiniteLossError, match='last good checkpoint is .*ckpt-4'):
        trainer.fit(bad)
    assert int(trainer.step.numpy()) == 4
    saved = models.load_gan(str(tmp_path))
    for averaged, kept in zip(averaged_weights(trainer), saved.generator.weights):
        np.testing.assert_array_equal(averaged, kept.numpy())  # the bad update was not applied
        assert np.isfinite(kept.numpy()).all()


def test_previews_and_rebuilt_gan_use_the_averaged_generator(tmp_path, info):
    trainer = make_trainer(tmp_path, info, ema_decay=0.9)
    seen = []
    trainer.fit(info, on_epoch_end=lambda epoch: seen.append(
        [v.numpy() for v in trainer.gan.generator.weights]) or {})
    trained, averaged = [v.numpy() for v in trainer.gan.generator.weights], averaged_weights(trainer)
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(trained, averaged))
    for a, b in zip(seen[-1], averaged):  # what the epoch's evaluation saw
        np.testing.assert_array_equal(a, b)
    for a, b in zip(trained, trainer.gan.generator.weights):  # training goes on from the trained ones
        np.testing.assert_array_equal(a, b.numpy())
    rebuilt = models.load_gan(str(tmp_path))  # as tfgan2-export and tfgan2-evaluate do
    for a, b in zip(averaged, rebuilt.generator.weights):
        np.testing.assert_array_equal(a, b.numpy())
    preview = trainer.gan.preview_latent(trainer.preview_noise)[0]
    grid = iio.imread(tmp_path / 'images' / 'epoch_0002.png')
    expected = artifacts.image_grid(rebuilt.generate(preview).numpy(), 8)[..., 0]
    np.testing.assert_array_equal(grid, expected)


def test_run_without_averaging_resumes_with_it(tmp_path, info):
    make_trainer(tmp_path, info, epochs=1, ema_decay=0.0).fit(info)
    assert models.AVERAGE_CHECKPOINT_KEY not in models.saved_objects(tf.train.latest_checkpoint(
        str(tmp_path / 'checkpoints')))
    resumed = make_trainer(tmp_path, info, epochs=1, ema_decay=0.99)
    resumed.restore()
    for a, b in zip(averaged_weights(resumed), resumed.gan.generator.weights):
        np.testing.assert_array_equal(a, b.numpy())  # the average starts from the trained weights
    make_trainer(tmp_path, info, epochs=2, ema_decay=0.99).fit(info)
    assert models.AVERAGE_CHECKPOINT_KEY in models.saved_objects(tf.train.latest_checkpoint(
        str(tmp_path / 'checkpoints')))


def test_decay_outside_zero_to_one_is_refused(tmp_path, info):
    with pytest.raises(ValueError, match=r'ema_decay=1.0: use a decay in \[0, 1\)'):
        make_trainer(tmp_path, info, ema_decay=1.0)


TRAIN_FOREVER = """
import sys
from tfgan2 import data, models
from tfgan2.train import TrainConfig, Trainer
info = data.load_dataset('fashion_mnist', data_dir=sys.argv[1])
gan = models.build_gan('dcgan', info.image_shape, info.num_classes, noise_dim=8,
                       generator_widths=(16, 8), discriminator_widths=(8, 16))
Trainer(gan, TrainConfig(model_dir=sys.argv[2], epochs=10**6, batch_size=16, checkpoint_every=1,
                         keep_checkpoints=2, verbose=False)).fit(info)
"""


def test_kill_9_during_checkpointing_never_leaves_an_unreadable_checkpoint(tmp_path, idx_dir):
    model_dir = str(tmp_path / 'run')
    for delay in (0.3, 1.1, 1.9):  # it saves every step, so kills land in and around saves
        process = subprocess.Popen([sys.executable, '-c', TRAIN_FOREVER, idx_dir, model_dir],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not tf.train.latest_checkpoint(os.path.join(model_dir, 'checkpoints')):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        latest = tf.train.latest_checkpoint(os.path.join(model_dir, 'checkpoints'))
        gan = models.load_gan(model_dir, latest)  # must restore cleanly
        assert all(np.isfinite(v.numpy()).all() for v in gan.generator.variables)
    assert not [n for n in os.listdir(model_dir) if n.startswith('.')]  # no half-written artifacts
