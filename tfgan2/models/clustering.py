"""k-means in NumPy, for GANs that condition on clusters they find in their training images."""

import numpy as np

MAX_ITERATIONS = 50


def squared_distances(features, centroids):
    """[N, F], [K, F] -> [N, K] squared Euclidean distances."""
    return (np.sum(features ** 2, axis=1)[:, np.newaxis] - 2.0 * features @ centroids.T
            + np.sum(centroids ** 2, axis=1)[np.newaxis])


def nearest(features, centroids):
    """The index of each row's nearest centroid."""
    return np.argmin(squared_distances(features, centroids), axis=1)


def kmeans_plus_plus(features, k, rng):
    """k initial centroids (Arthur & Vassilvitskii 2007): a random row, then rows drawn in
    proportion to their squared distance to the nearest centroid chosen so far."""
    chosen = [int(rng.integers(len(features)))]
    closest = squared_distances(features, features[chosen])[:, 0]
    for _ in range(k - 1):
        weights = np.maximum(closest, 0.0).astype(np.float64)
        index = int(rng.choice(len(features), p=weights / weights.sum()) if weights.sum() > 0
                    else rng.integers(len(features)))
        chosen.append(index)
        closest = np.minimum(closest, squared_distances(features, features[[index]])[:, 0])
    return features[chosen]


def cluster_means(features, labels, k):
    """[k, F]: the mean row of each label; labels without rows get the rows farthest from the
    other means, so no cluster stays empty."""
    one_hot = np.eye(k, dtype=features.dtype)[labels]
    counts = one_hot.sum(axis=0)
    means = one_hot.T @ features / np.maximum(counts, 1.0)[:, np.newaxis]
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        distances = squared_distances(features, means[counts > 0]).min(axis=1)
        means[empty] = features[np.argsort(-distances, kind='stable')[:empty.size]]
    return means


def kmeans(features, centroids):
    """Lloyd's iterations from `centroids` until no row changes cluster (or MAX_ITERATIONS):
    (centroids, labels)."""
    labels = nearest(features, centroids)
    for _ in range(MAX_ITERATIONS):
        centroids = cluster_means(features, labels, len(centroids))
        updated = nearest(features, centroids)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return centroids, labels


def match_clusters(new_labels, old_labels, k):
    """A one-to-one map from new cluster to old cluster (`mapping[new] = old`) that keeps rows
    in their cluster: pairs are taken greedily, the most shared rows first."""
    overlap = np.zeros((k, k), np.int64)
    np.add.at(overlap, (new_labels, old_labels), 1)
    mapping, taken = np.full(k, -1), np.zeros(k, bool)
    for flat in np.argsort(-overlap, axis=None, kind='stable'):
        new, old = divmod(int(flat), k)
        if mapping[new] < 0 and not taken[old]:
            mapping[new], taken[old] = old, True
    return mapping
