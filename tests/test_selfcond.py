"""The self-conditioned GAN: an unconditional model to its users, whose clusters are
deterministic, drawn from the noise in proportion to their sizes, and restored on resume."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY_WIDTHS, Crash, crash_after, synthetic_data

from tfgan2 import TrainConfig, Trainer, build_gan, load_run, rng
from tfgan2 import data as data_lib


@pytest.fixture(scope='module')
def data():
    return synthetic_data(count=200, num_classes=4)  # 4 classes, a bright block at a place per class


def tiny_selfcond(data, seed=7, **hyperparameters):
    keras.utils.set_random_seed(seed)
    return build_gan('selfcond', data, **{**TINY_WIDTHS, 'clusters': 4, **hyperparameters})


def clustered(data, epoch=0, seed=3, **hyperparameters):
    gan = tiny_selfcond(data, **hyperparameters)
    gan.begin_epoch(data, epoch, seed)
    return gan


def training_images(data):
    images, labels = next(iter(data_lib.input_pipeline(data, data.num_examples, seed=0)))
    return images, labels.numpy()


def cluster_state(gan):
    return [gan.centroids.numpy(), gan.cluster_shares] + [w.numpy() for w in gan.cluster_discriminator.weights]


def test_an_unconditional_model_to_its_users(data):
    gan = tiny_selfcond(data)
    assert list(gan.latent_spec()) == ['noise'] and not gan.conditional and not gan.draws_dataset_classes
    assert list(gan.averaged_generator.input) == ['noise']
    assert gan.num_labels == 4 and gan.sample(3, seed=1).shape == (3, 28, 28, 1)


@pytest.mark.parametrize('features', ['pixels', 'discriminator'])
def test_clustering_is_deterministic_for_a_seed(data, features):
    first, again = clustered(data, cluster_features=features), clustered(data, cluster_features=features)
    np.testing.assert_array_equal(first.centroids.numpy(), again.centroids.numpy())
    np.testing.assert_array_equal(first.cluster_shares, again.cluster_shares)
    other = clustered(data, seed=4, cluster_features=features)
    assert not np.array_equal(first.centroids.numpy(), other.centroids.numpy())


def test_pixel_clusters_find_the_classes_and_their_sizes(data):
    gan = clustered(data, cluster_features='pixels')
    images, labels = training_images(data)
    clusters = gan.clusters_of(images).numpy()
    for label in range(4):  # each class lies in one cluster of its own
        assert len(set(clusters[labels == label])) == 1
    assert len(set(clusters)) == 4
    np.testing.assert_allclose(gan.cluster_shares, np.bincount(clusters, minlength=4) / len(clusters))


def test_reclustering_keeps_the_cluster_numbers(data):
    gan = clustered(data, cluster_features='pixels')
    images, _ = training_images(data)
    before = gan.clusters_of(images).numpy()
    gan.begin_epoch(data, 1, seed=3)  # another sample of the images, warm-started and matched
    np.testing.assert_array_equal(gan.clusters_of(images).numpy(), before)


def test_clusters_are_made_every_recluster_every_epochs(data):
    gan = clustered(data, recluster_every=2)
    state = cluster_state(gan)
    gan.discriminator.weights[0].assign(gan.discriminator.weights[0] + 1.0)
    gan.begin_epoch(data, 1, seed=3)
    for a, b in zip(cluster_state(gan), state):
        np.testing.assert_array_equal(a, b)
    gan.begin_epoch(data, 2, seed=3)
    np.testing.assert_array_equal(gan.cluster_discriminator.weights[0].numpy(), gan.discriminator.weights[0].numpy())


def test_the_cluster_mix_drawn_from_noise_matches_the_cluster_sizes(data):
    gan = clustered(data, cluster_features='pixels')
    shares = gan.cluster_shares
    assert shares.min() > 0.1 and shares.sum() == pytest.approx(1.0)
    count = 40_000
    drawn = gan.clusters_of_noise(gan.sample_latent(rng.StatelessSampler(0), count)['noise']).numpy()
    tolerance = 4 * np.sqrt(shares * (1 - shares) / count)  # 4 standard errors
    np.testing.assert_array_less(np.abs(np.bincount(drawn, minlength=4) / count - shares), tolerance)


def test_the_same_noise_gives_the_same_image(data):
    gan = clustered(data)
    noise = gan.sample_latent(rng.StatelessSampler(5), 6)['noise']
    alone = gan.generate({'noise': noise[:2]})
    in_a_batch = gan.generate({'noise': noise})[:2]
    np.testing.assert_allclose(alone, in_a_batch, atol=1e-6)
    np.testing.assert_array_equal(gan.sample(4, seed=2), gan.sample(4, seed=2))


def test_preview_rows_draw_one_cluster_each_from_the_fixed_noise(data):
    gan = clustered(data, clusters=3)
    noise = tf.random.stateless_normal([gan.preview_noise_count, gan.noise_dim], [0, 1])
    latent, rows = gan.preview_latents(noise)['epoch']
    assert rows == 3 and gan.preview_noise_count == 10
    np.testing.assert_array_equal(gan.clusters_of_noise(latent['noise']).numpy().reshape(3, 10),
                                  np.repeat([[0], [1], [2]], 10, axis=1))
    np.testing.assert_array_equal(latent['noise'].numpy().reshape(3, 10, -1)[:, :, 1:],
                                  np.stack([noise.numpy()[:, 1:]] * 3))


def test_preview_shows_the_most_populous_clusters_when_there_are_many(data):
    gan = clustered(data, clusters=12, cluster_features='pixels')
    shares = gan.cluster_shares
    shown = gan.preview_clusters()
    assert len(shown) == 10 and list(shown) == sorted(shown)
    assert shares[shown].min() >= np.delete(shares, shown).max()
    latent, rows = gan.preview_latents(tf.zeros([10, gan.noise_dim]))['epoch']
    assert rows == 10 and set(gan.clusters_of_noise(latent['noise']).numpy()) == set(shown)


def test_keras_saving_carries_the_clusters(tmp_path, data):
    gan = clustered(data)
    images, _ = training_images(data)
    gan.save(tmp_path / 'gan.keras')
    loaded = keras.saving.load_model(tmp_path / 'gan.keras')
    assert type(loaded) is type(gan) and loaded.get_config() == gan.get_config()
    for a, b in zip(cluster_state(loaded), cluster_state(gan)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.clusters_of(images), gan.clusters_of(images))
    np.testing.assert_allclose(loaded.sample(5, seed=1), gan.sample(5, seed=1), atol=1e-6)


def trainer(model_dir, data, **hyperparameters):
    gan = tiny_selfcond(data, **hyperparameters)
    return Trainer(gan, str(model_dir), TrainConfig(batch_size=64, checkpoint_every=2, seed=7, verbose=False))


def trained_state(trainer):
    gan = trainer.gan
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables
            + gan.averaged_generator.variables] + cluster_state(gan)


@pytest.mark.parametrize('crash_step', [5, 7])  # resumes at an epoch's start (clusters again), or inside one
def test_resume_after_a_crash_restores_the_clusters(tmp_path, data, crash_step):
    straight = trainer(tmp_path / 'straight', data)
    straight.fit(data, epochs=3)  # 4 steps per epoch, clustering before each
    with pytest.raises(Crash):
        trainer(tmp_path / 'resumed', data).fit(data, epochs=3, callbacks=[crash_after(crash_step)])
    resumed = trainer(tmp_path / 'resumed', data)
    resumed.fit(data, epochs=3)
    assert resumed.step == straight.step == 12
    for a, b in zip(trained_state(resumed), trained_state(straight)):  # bit for bit on CPU (README)
        np.testing.assert_array_equal(a, b)


def test_the_run_records_the_clusters_and_load_run_restores_them(tmp_path, data):
    trained = trainer(tmp_path, data, cluster_features='pixels', clusters=3)
    trained.fit(data, epochs=1)
    record = json.loads((tmp_path / 'gan.json').read_text())
    assert record['model'] == 'selfcond'
    assert record['config']['clusters'] == 3 and record['config']['cluster_features'] == 'pixels'
    loaded = load_run(tmp_path)
    np.testing.assert_array_equal(loaded.centroids.numpy(), trained.gan.centroids.numpy())
    np.testing.assert_array_equal(loaded.cluster_shares, trained.gan.cluster_shares)
    np.testing.assert_allclose(loaded.sample(4, seed=3), trained.gan.sample(4, seed=3), atol=1e-6)


@pytest.mark.parametrize('hyperparameters, message', [
    ({'clusters': 1}, 'clusters=1: self-conditioning needs at least 2'),
    ({'cluster_features': 'labels'}, "cluster_features='labels' is unknown"),
    ({'recluster_every': 0}, 'recluster_every=0: use at least 1'),
    ({'clusters': 50, 'cluster_samples': 20}, 'cluster_samples=20 is fewer than clusters=50'),
])
def test_bad_hyperparameters_name_the_parameter(data, hyperparameters, message):
    with pytest.raises(ValueError, match=message):
        tiny_selfcond(data, **hyperparameters)


def test_more_clusters_than_images_fail_clearly():
    few = synthetic_data(count=8, num_classes=2)
    with pytest.raises(ValueError, match='clusters=10 is more than the 8 training images'):
        clustered(few, clusters=10)
