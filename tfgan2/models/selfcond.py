"""Self-conditioned GAN (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs"):
an unconditional GAN that trains as a conditional one on clusters it finds in its training
images, so it needs no labels.

Before the first epoch and every `recluster_every` epochs, k-means groups a sample of training
images by their features in a copy of the discriminator frozen at that moment (or by their
downscaled pixels). Each real image is labelled with its nearest centroid, and CGAN's projection
discriminator judges (image, cluster) pairs. The generator derives its cluster from its noise
(`networks.LabelFromNoise`) in proportion to the clusters' sizes, so it takes noise only and the
same noise always gives the same image. A new clustering starts from the means of the previous
one's clusters and is matched to it, so a cluster keeps its number and the generator's
conditioning its meaning. The centroids, the frozen copy and the cluster sizes are weights of the
GAN (`centroids`, `cluster_discriminator`, and the `shares` of each generator's `label_from_noise`
layer): a run's checkpoints and `keras.saving` carry them, so a resumed run continues with the same
clusters and an export draws clusters in the trained proportions; gan.json records `clusters`.
"""

import logging

import numpy as np
import tensorflow as tf

from tfgan2 import data as data_lib
from tfgan2 import errors
from tfgan2.models import base, cgan, clustering, networks, registry
from tfgan2.models import hyperparameters as hp

logger = logging.getLogger(__name__)

CLUSTER_FEATURES = ('discriminator', 'pixels')
LABEL_LAYER = 'label_from_noise'
PIXEL_FEATURE_SIZE = 8  # 'pixels' features: the image area-averaged to 8x8
FEATURE_BATCH = 500  # images per forward pass when extracting features to cluster
PREVIEW_ROWS = 10


@registry.register
class SelfConditionedGAN(base.GAN):
    """An unconditional GAN conditioned on clusters of its training images (see the module).

    Its preview grid has one row per cluster (the 10 most populous, in cluster order, when there
    are more), each drawn from the same fixed noise vectors moved into that cluster.

    The defaults were chosen by measurement on Fashion-MNIST (benchmarks/RESULTS.md): 50
    clusters over 10, 20 and 100; discriminator features over pixels, and clustering every epoch
    over clustering once, though both by less than the spread between seeds.
    """

    kind = 'selfcond'
    HYPERPARAMETERS = hp.extend(
        base.HYPERPARAMETERS,
        cgan.MIXING,
        hp.Hyperparameter('clusters', int, 50, 'number of clusters the training images are grouped into, the '
                          'generator\'s conditions (K)'),
        hp.Hyperparameter('cluster_features', str, 'discriminator', 'what images are clustered by: the features '
                          'of a copy of the discriminator frozen at each clustering (as in the paper), or the '
                          'images area-averaged to 8x8', choices=CLUSTER_FEATURES),
        hp.Hyperparameter('recluster_every', int, 1, 'epochs between clusterings; the first is before epoch 0'),
        hp.Hyperparameter('cluster_samples', int, 5000, 'training images clustered each time (the first of '
                          'the epoch\'s order)'))

    def __init__(self, image_shape, num_classes=0, **hyperparameters):
        super().__init__(image_shape, num_classes, **hyperparameters)
        h = self.hyperparameters
        self.cluster_discriminator = None
        if h.cluster_features == 'discriminator':
            self.cluster_discriminator = networks.Discriminator.from_config(
                {**self.discriminator.get_config(), 'name': 'cluster_discriminator'})
            self.cluster_discriminator.trainable = False
        feature_size = (PIXEL_FEATURE_SIZE ** 2 * self.image_shape[2] if h.cluster_features == 'pixels'
                        else self.discriminator.output['features'].shape[-1])
        self.centroids = self.add_weight(shape=(h.clusters, feature_size), initializer='zeros',
                                         trainable=False, name='cluster_centroids')

    def resolve_defaults(self, values):
        clusters, samples = values['clusters'], values['cluster_samples']
        if clusters < 2:
            raise errors.ConfigError(f'clusters={clusters}: self-conditioning needs at least 2 clusters.')
        if values['recluster_every'] < 1:
            raise errors.ConfigError(f'recluster_every={values["recluster_every"]}: use at least 1 (epochs '
                                     f'between clusterings).')
        if samples < clusters:
            raise errors.ConfigError(f'cluster_samples={samples} is fewer than clusters={clusters}; cluster at '
                                     f'least one image per cluster, better a hundred.')
        return super().resolve_defaults(values)

    def build_networks(self):
        h = self.hyperparameters
        return (self.build_generator(num_classes=h.clusters, mixing=h.mixing, label_from_noise=True),
                self.build_discriminator(num_classes=h.clusters))

    @property
    def cluster_shares(self):
        """Each cluster's share of the clustered images, as the generator draws clusters."""
        return self.generator.get_layer(LABEL_LAYER).shares.numpy()

    def clusters_of(self, images):
        """Each image's cluster: its nearest centroid in the frozen features; [B, H, W, C] -> int32 [B]."""
        features = self._features(images, self.cluster_discriminator)
        distances = tf.reduce_sum(tf.square(self.centroids), axis=1) - 2.0 * tf.matmul(
            features, self.centroids, transpose_b=True)
        return tf.argmin(distances, axis=1, output_type=tf.int32)

    def clusters_of_noise(self, noise):
        """The cluster the generator draws from each noise vector; [B, noise_dim] -> int32 [B]."""
        return self.generator.get_layer(LABEL_LAYER)(noise)

    def _features(self, images, network):
        """What clustering compares: `network`'s features of `images`, or their coarse pixels."""
        if self.hyperparameters.cluster_features == 'pixels':
            pooled = tf.image.resize(images, [PIXEL_FEATURE_SIZE, PIXEL_FEATURE_SIZE], method='area')
            return tf.reshape(pooled, [tf.shape(images)[0], -1])
        return tf.cast(network(images, training=False)['features'], tf.float32)

    def begin_epoch(self, data, epoch, seed):
        """Clusters the first `cluster_samples` images of the epoch before epoch 0 and every
        `recluster_every` epochs after it."""
        h = self.hyperparameters
        if epoch % h.recluster_every:
            return
        if data.num_examples < h.clusters:
            raise errors.ConfigError(f'clusters={h.clusters} is more than the {data.num_examples} training '
                                     f'images; use fewer clusters.')
        batches = data_lib.input_pipeline(data, FEATURE_BATCH, seed, epoch, stop=h.cluster_samples)
        self.cluster(batches, np.random.default_rng([seed, epoch]), warm_start=epoch > 0)

    def cluster(self, batches, rng, warm_start):
        """Clusters the images of `batches` ((images, labels) in [-1, 1]) with k-means, from
        k-means++ seeds drawn with the NumPy generator `rng`, or with `warm_start` from the means
        of the current clusters matched to them; then freezes the discriminator's current copy."""
        previous, features, k = [], [], self.hyperparameters.clusters
        for images, _ in batches:
            if warm_start:
                previous.append(self.clusters_of(images).numpy())
            features.append(self._features(images, self.discriminator).numpy())
        features = np.concatenate(features)
        if warm_start:
            previous = np.concatenate(previous)
            centroids, labels = clustering.kmeans(features, clustering.cluster_means(features, previous, k))
            mapping = clustering.match_clusters(labels, previous, k)
            centroids, labels = centroids[np.argsort(mapping)], mapping[labels]
        else:
            centroids, labels = clustering.kmeans(features, clustering.kmeans_plus_plus(features, k, rng))
        sizes = np.bincount(labels, minlength=k)
        self._set_clusters(centroids, sizes / len(labels))
        logger.info('Clustered %d images into %d clusters of %d to %d images%s.', len(labels), k,
                    sizes.min(), sizes.max(),
                    f'; {np.mean(labels == previous):.0%} kept their cluster' if warm_start else '')

    def _set_clusters(self, centroids, shares):
        self.centroids.assign(centroids)
        for generator in (self.generator, self.averaged_generator):
            generator.get_layer(LABEL_LAYER).shares.assign(shares)
        if self.cluster_discriminator is not None:
            for frozen, weight in zip(self.cluster_discriminator.weights, self.discriminator.weights):
                frozen.assign(weight)

    def fake_latent(self, sampler, labels):
        """Noise only: its cluster, the condition, is derived from it."""
        latent = self.sample_latent(sampler, tf.shape(labels)[0])
        return latent, self.clusters_of_noise(latent['noise'])

    def real_conditions(self, images, labels):
        del labels  # Unconditional: the clusters stand in for classes.
        return self.clusters_of(images)

    def adversarial_logit(self, outputs, conditions):
        return cgan.projection_logit(outputs, conditions)

    def auxiliary_losses(self, real_outputs, fake_outputs, real_conditions, fake_conditions, latent):
        return 0.0, 0.0, cgan.projection_diagnostics(real_outputs, fake_outputs, real_conditions, fake_conditions)

    @property
    def preview_noise_count(self):
        return 10

    def preview_clusters(self):
        """The clusters the preview grid's rows show: all of them, or the PREVIEW_ROWS most
        populous, in cluster order."""
        return np.sort(np.argsort(-self.cluster_shares, kind='stable')[:PREVIEW_ROWS])

    def preview_latents(self, noise):
        """Row r draws the r-th of `preview_clusters` from every fixed noise vector."""
        shown = self.preview_clusters()
        clusters = tf.repeat(tf.constant(shown, tf.int32), tf.shape(noise)[0])
        moved = self.generator.get_layer(LABEL_LAYER).noise_with_labels(tf.tile(noise, [len(shown), 1]), clusters)
        return {'epoch': ({'noise': moved}, len(shown))}

