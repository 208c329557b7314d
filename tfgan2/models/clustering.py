"""k-means in NumPy, for GANs that condition on clusters they find in their training images."""

import numpy as np

MAX_ITERATIONS = 50
CONVERGED = 0.01  # k-means stops when under this fraction of the rows change cluster


def squared_distances(features, centroids):
    """[N, F], [K, F] -> [N, K] squared Euclidean distances."""
    return (np.sum(features ** 2, axis=1)[:, np.newaxis] - 2.0 * features @ centroids.T
            + np.sum(centroids ** 2, axis=1)[np.newaxis])


def nearest(features, centroids):
    """The index of each row's nearest centroid."""
    return np.argmin(np.sum(centroids ** 2, axis=1) - 2.0 * features @ centroids.T, axis=1)


def kmeans_plus_plus(features, k, rng):
    """k initial centroids (Arthur & Vassilvitskii 2007): a random row, then rows drawn in
    proportion to their squared distance to the nearest centroid chosen so far."""
    norms = np.sum(features ** 2, axis=1)
    chosen = [int(rng.integers(len(features)))]
    closest = np.full(len(features), np.inf)
    for _ in range(k - 1):
        latest = chosen[-1]
        closest = np.minimum(closest, norms - 2.0 * features @ features[latest] + norms[latest])
        weights = np.maximum(closest, 0.0).astype(np.float64)
        chosen.append(int(rng.choice(len(features), p=weights / weights.sum()) if weights.sum() > 0
                          else rng.integers(len(features))))
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
    """Lloyd's iterations from `centroids` until almost no row changes cluster (CONVERGED), at
    most MAX_ITERATIONS: (centroids, labels)."""
    labels = nearest(features, centroids)
    for _ in range(MAX_ITERATIONS):
        centroids = cluster_means(features, labels, len(centroids))
        updated = nearest(features, centroids)
        changed = np.mean(updated != labels)
        labels = updated
        if changed < CONVERGED:
            break
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
