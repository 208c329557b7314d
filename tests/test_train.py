"""The shared training loop through its public API: tracing, outputs, exact resume, callbacks,
epochs semantics, NaN stop, the averaged generator, TensorBoard, progress, and kill -9 safety."""

import math
import os
import signal
import subprocess
import sys

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import PATIENCE_S, Crash, crash_after, newest_step, synthetic_data, tiny_trainer, wait_until
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfgan2 import NonFiniteLossError, TrainConfig, artifacts, load_run


@pytest.fixture(scope='module')
def data():
    return synthetic_data()  # 200 images: 3 batches of 64 and one of 8 per epoch


def weights(trainer):
    """Every variable of the GAN (networks, averaged generator, augmentation and LeCam state)
    and of both optimizers."""
    state = trainer.state
    return [v.numpy() for v in trainer.gan.variables + state.g_optimizer.variables + state.d_optimizer.variables]


def test_step_traces_once_despite_partial_batches(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data)
    history = trainer.fit(data, epochs=2)
    assert trainer.step_function.train_step.experimental_get_tracing_count() == 1
    assert history.epoch == [0, 1] and trainer.epoch == 2 and trainer.step == 8


def test_outputs_written_per_epoch(tmp_path, data):
    tiny_trainer(tmp_path, data).fit(data, epochs=3)
    assert sorted(os.listdir(tmp_path / 'images')) == ['epoch_0001.png', 'epoch_0002.png', 'epoch_0003.png']
    grid = iio.imread(tmp_path / 'images' / 'epoch_0001.png')
    assert grid.shape == (8 * 86 + 2, 8 * 86 + 2)  # 8x8 tiles of 28 px scaled x3, 2 px padding
    assert iio.imread(tmp_path / 'training.gif', index=None).shape[0] == 3
    history = artifacts.read_history(tmp_path / 'history.csv')
    assert [row['epoch'] for row in history] == [1, 2, 3]
    # Rewritten every epoch, earlier rows keep integral epochs and steps.
    assert [line.split(',')[:2] for line in (tmp_path / 'history.csv').read_text().splitlines()[1:]] == [
        ['1', '4'], ['2', '8'], ['3', '12']]
    assert all(np.isfinite(row['g_loss']) and row['images_per_second'] > 0 for row in history)
    assert (tmp_path / 'losses.png').stat().st_size > 0
    assert any(name.startswith('events.out.tfevents') for name in os.listdir(tmp_path / 'logs'))
    assert (tmp_path / 'gan.json').exists()
    assert tf.train.latest_checkpoint(str(tmp_path / 'checkpoints')).endswith('ckpt-12')
    umask = os.umask(0)
    os.umask(umask)
    for published in ('training.gif', 'history.csv', 'images/epoch_0001.png'):
        assert os.stat(tmp_path / published).st_mode & 0o777 == 0o666 & ~umask  # not owner-only


# Every part with state or randomness of its own: adaptive augmentation, LeCam's averages, a lazy
# penalty, spectral normalisation's power iteration, and several discriminator updates per step.
ALL_PARTS = dict(hyperparameters=dict(augment='color,translation,cutout', lecam_weight=0.1, penalty='r1',
                                      penalty_every=2, spectral_norm=True), n_critic=2)


@pytest.mark.parametrize('settings', [{}, ALL_PARTS], ids=['defaults', 'all_parts'])
def test_resume_after_a_crash_matches_the_uninterrupted_run(tmp_path, data, settings):
    straight = tiny_trainer(tmp_path / 'straight', data, **settings)
    straight.fit(data, epochs=2)
    with pytest.raises(Crash):
        tiny_trainer(tmp_path / 'resumed', data, **settings).fit(data, epochs=2, callbacks=[crash_after(7)])
    resumed = tiny_trainer(tmp_path / 'resumed', data, **settings)  # a new process would do the same
    history = resumed.fit(data, epochs=2)
    assert history.epoch == [1] and resumed.step == straight.step == 8
    for a, b in zip(weights(resumed), weights(straight)):  # bit for bit on CPU (README)
        np.testing.assert_array_equal(a, b)
    rows, straight_rows = resumed.history, straight.history
    assert [row['epoch'] for row in rows] == [1, 2]
    for key in ('g_loss', 'd_loss'):  # the resumed epoch's row averages the whole epoch
        assert rows[1][key] == straight_rows[1][key]


def test_epochs_is_a_total_and_additional_epochs_adds(tmp_path, data, caplog):
    trainer = tiny_trainer(tmp_path, data)
    trainer.fit(data, epochs=1)
    assert trainer.fit(data, epochs=1).epoch == []  # already there: nothing to train
    assert 'already completed 1 epochs' in caplog.text and 'additional_epochs' in caplog.text
    assert trainer.fit(data, additional_epochs=2).epoch == [1, 2]
    again = tiny_trainer(tmp_path, data)  # another process: resumes at epoch 3
    assert again.fit(data, epochs=4).epoch == [3] and again.step == 16
    assert again.step_function.train_step.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match='either epochs'):
        again.fit(data)


def test_callbacks_get_the_epoch_means_and_can_stop(tmp_path, data):
    seen = []
    logger = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, dict(logs))))
    trainer = tiny_trainer(tmp_path, data)
    history = trainer.fit(data, epochs=2, callbacks=[logger])
    rows = artifacts.read_history(tmp_path / 'history.csv')
    assert [epoch for epoch, _ in seen] == [0, 1]
    for (_, logs), row in zip(seen, rows):
        assert logs['g_loss'] == pytest.approx(row['g_loss'], rel=1e-6)
    assert history.history['d_loss'] == pytest.approx([row['d_loss'] for row in rows], rel=1e-6)

    class StopAfterOneStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    trainer.fit(data, epochs=4, callbacks=[StopAfterOneStep()])
    assert trainer.step == 9 and trainer.epoch == 2  # stopped mid-epoch, after saving
    assert tf.train.latest_checkpoint(str(tmp_path / 'checkpoints')).endswith('ckpt-9')


def test_keras_model_checkpoint_saves_the_gan(tmp_path, data):
    path = tmp_path / 'gan.keras'
    tiny_trainer(tmp_path / 'run', data).fit(
        data, epochs=1, callbacks=[keras.callbacks.ModelCheckpoint(str(path))])
    restored = keras.saving.load_model(path)
    expected = load_run(tmp_path / 'run')
    np.testing.assert_allclose(restored.sample(4, seed=1), expected.sample(4, seed=1), atol=1e-6)


def test_progress_off_a_terminal_is_plain_lines_that_end_on_the_epoch_means(tmp_path, data):
    # stdout is a pipe here. Epoch 1 prints a line after every step (no minimum interval), epoch
    # 2 only its last line (an interval no epoch reaches).
    script = ('import sys; sys.path.insert(0, "tests")\n'
              'from conftest import synthetic_data, tiny_trainer\n'
              'from tfgan2.training import loop\n'
              'data = synthetic_data()\n'
              f'trainer = tiny_trainer({str(tmp_path)!r}, data, verbose=True)\n'
              'loop.PLAIN_LINE_SECONDS = 0\n'
              'trainer.fit(data, epochs=1)\n'
              'loop.PLAIN_LINE_SECONDS = 10 ** 9\n'
              'trainer.fit(data, epochs=2)\n')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 0, result.stderr[-2000:]
    _, first, second = result.stdout.split('Epoch ')
    lines = first.splitlines()
    assert lines[0] == '1/1' and [line.split(' - ')[0] for line in lines[1:]] == ['1/4', '2/4', '3/4', '4/4']
    assert all('s to go - g_loss: ' in line for line in lines[1:4])
    assert [line.split(' - ')[0] for line in second.splitlines()] == ['2/2', '4/4']
    history = artifacts.read_history(tmp_path / 'history.csv')
    for lines_of_epoch, row in zip((first, second), history):
        shown = float(lines_of_epoch.splitlines()[-1].split('g_loss: ')[1].split()[0])
        assert shown == pytest.approx(row['g_loss'], abs=1e-4)


def test_keras_tensorboard_callback_logs_steps_and_both_learning_rates(tmp_path, data):
    trainer = tiny_trainer(tmp_path / 'run', data)
    board = keras.callbacks.TensorBoard(tmp_path / 'board', update_freq='batch', write_steps_per_second=True)
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 1e-3 / 2 ** epoch)
    trainer.fit(data, epochs=2, callbacks=[board, halve])
    logs = EventAccumulator(str(tmp_path / 'board' / 'train'))
    logs.Reload()
    steps = lambda tag: [event.step for event in logs.Tensors(tag)]
    values = lambda tag: [float(tf.make_ndarray(event.tensor_proto)) for event in logs.Tensors(tag)]
    assert steps('batch_g_loss') == list(range(1, 9))  # one per step, numbered by Keras
    for network in ('generator', 'discriminator'):
        assert steps(f'epoch_learning_rate_{network}') == [0, 1]
        assert values(f'epoch_learning_rate_{network}') == pytest.approx([1e-3, 5e-4])
    assert steps('epoch_steps_per_second') == [0, 1] and min(values('epoch_steps_per_second')) > 0
    for optimizer in (trainer.state.g_optimizer, trainer.state.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(5e-4)


def test_tensorboard_scalars_and_preview_images_reach_every_reader(tmp_path, data):
    tiny_trainer(tmp_path, data, log_every=3).fit(data, epochs=2)  # steps 1-8
    logs = EventAccumulator(str(tmp_path / 'logs'), size_guidance={'scalars': 0, 'images': 0})
    logs.Reload()
    history = artifacts.read_history(tmp_path / 'history.csv')
    assert [event.step for event in logs.Scalars('train/g_loss')] == [3, 6]
    assert [event.step for event in logs.Scalars('train/images_per_second')] == [3, 6]
    for key in ('g_loss', 'd_loss', 'images_per_second'):
        assert [event.step for event in logs.Scalars(f'epoch/{key}')] == [row['step'] for row in history]
        assert [event.value for event in logs.Scalars(f'epoch/{key}')] == pytest.approx(
            [row[key] for row in history], rel=1e-6)
    previews = logs.Images('preview/epoch')
    assert [event.step for event in previews] == [4, 8]
    for event, epoch in zip(previews, (1, 2)):
        np.testing.assert_array_equal(iio.imread(event.encoded_image_string, extension='.png'),
                                      iio.imread(tmp_path / 'images' / f'epoch_{epoch:04d}.png'))


class CrashOnSave(Exception):
    """Stands in for a crash after an epoch's outputs are written but before its checkpoint."""


def test_the_gif_has_each_epoch_once_in_order_after_a_resume(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data)  # 4 steps per epoch, a checkpoint every 2
    trainer.fit(data, epochs=2)
    os.remove(tmp_path / 'images' / 'epoch_0001.png')  # later epochs copy its GIF frame, not the file
    save = trainer.state.save

    def crash_at_step_12(*args, **kwargs):
        if trainer.step == 12:
            raise CrashOnSave()
        return save(*args, **kwargs)

    trainer.state.save = crash_at_step_12
    with pytest.raises(CrashOnSave):  # epoch 3's grid and GIF frame are out, its checkpoint not
        trainer.fit(data, epochs=3)
    assert iio.imread(tmp_path / 'training.gif', index=None).shape[0] == 3
    resumed = tiny_trainer(tmp_path, data)
    resumed.fit(data, epochs=4)  # from ckpt-10: epoch 3 again, then 4
    frames = iio.imread(tmp_path / 'training.gif', index=None)
    assert frames.shape[0] == 4
    for epoch in (2, 3, 4):
        grid = iio.imread(tmp_path / 'images' / f'epoch_{epoch:04d}.png')
        np.testing.assert_array_equal(frames[epoch - 1][..., 0], grid)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data)
    losses = trainer.gan.compute_losses

    def exploding(*args, **kwargs):  # every step from the 6th on has a NaN loss
        metrics = losses(*args, **kwargs)
        poison = tf.where(trainer.state.step >= 5, np.nan, 1.0)
        return {**metrics, 'g_loss': metrics['g_loss'] * poison}

    trainer.gan.compute_losses = exploding  # before the step is first traced
    trainer.fit(data, epochs=1)
    with pytest.raises(NonFiniteLossError, match='last good checkpoint is .*ckpt-4'):
        trainer.fit(data, epochs=2)
    assert trainer.step == 5  # the step of the NaN was not applied
    saved = load_run(tmp_path)
    assert all(np.isfinite(v.numpy()).all() for v in saved.generator.weights)


def test_previews_and_the_rebuilt_gan_use_the_averaged_generator(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data, ema_decay=0.9)
    trainer.fit(data, epochs=2)
    gan = trainer.gan
    trained = [v.numpy() for v in gan.generator.weights]
    averaged = [v.numpy() for v in gan.averaged_generator.weights]
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(trained, averaged))
    rebuilt = load_run(tmp_path)  # as the exporter and the evaluator do
    for a, b in zip(averaged, rebuilt.averaged_generator.weights):
        np.testing.assert_array_equal(a, b.numpy())
    preview, rows = gan.preview_latents(trainer.state.preview_noise)['epoch']
    grid = iio.imread(tmp_path / 'images' / 'epoch_0002.png')
    np.testing.assert_array_equal(grid, artifacts.image_grid(rebuilt.generate(preview).numpy(), rows)[..., 0])


def test_zero_decay_keeps_the_averaged_generator_equal_to_the_trained_one(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data, ema_decay=0.0)
    trainer.fit(data, epochs=1)
    for a, b in zip(trainer.gan.generator.weights, trainer.gan.averaged_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize('setting, message', [
    (dict(ema_decay=1.0), r'ema_decay=1.0: use a value in \[0, 1\)'),
    (dict(batch_size=0), 'batch_size=0: use a value at least 1'),
    (dict(steps_per_epoch=0), 'steps_per_epoch=0'),
])
def test_bad_settings_name_the_parameter(setting, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**setting)


TRAIN_FOREVER = """
import sys
sys.path.insert(0, 'tests')
from conftest import synthetic_data, tiny_trainer
data = synthetic_data()
tiny_trainer(sys.argv[1], data, batch_size=16, checkpoint_every=1, keep_checkpoints=2).fit(data, epochs=10**6)
"""


def test_kill_9_during_checkpointing_never_leaves_an_unreadable_checkpoint(tmp_path):
    model_dir = str(tmp_path / 'run')
    for step in (3, 14, 27):  # it saves every step, so a kill as one appears lands in the next save
        process = subprocess.Popen([sys.executable, '-c', TRAIN_FOREVER, model_dir],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: newest_step(model_dir) >= step, process, f'step {step} was saved')  # noqa: B023
        process.send_signal(signal.SIGKILL)
        process.wait()
        gan = load_run(model_dir)  # the newest readable checkpoint restores cleanly
        assert all(np.isfinite(v.numpy()).all() for v in gan.generator.variables)
    assert not [n for n in os.listdir(model_dir) if n.startswith('.') and n != '.lock']


def test_epoch_count_matches_batches(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data, batch_size=48, steps_per_epoch=3)
    trainer.fit(data, epochs=2)
    assert trainer.step == 2 * min(3, math.ceil(200 / 48))


def test_critic_steps_update_the_discriminator_n_times_per_generator_update(tmp_path, data):
    trainer = tiny_trainer(tmp_path, data, n_critic=3, g_beta_2=0.9, d_beta_2=0.95, d_learning_rate=5e-4)
    trainer.fit(data, epochs=1)
    state = trainer.state
    assert trainer.step == 4 and int(state.g_optimizer.iterations) == 4 and int(state.d_optimizer.iterations) == 12
    assert state.g_optimizer.beta_2 == 0.9 and state.d_optimizer.beta_2 == 0.95
    assert float(state.d_optimizer.learning_rate) == pytest.approx(5e-4)
