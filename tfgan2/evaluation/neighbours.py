"""Nearest-neighbour figures between feature sets (numpy, float64, in row chunks so that no
N x M distance matrix is held at once):

- precision / recall (Kynkäänniemi et al. 2019): the share of generated images inside the real
  images' k-NN manifold (each real image's ball out to its k-th nearest real neighbour), and the
  share of real images inside the generated images' manifold. Quality and variety, apart.
- density / coverage (Naeem et al. 2020): how many real balls a generated image falls in, on
  average, divided by k (about 1 for real images, not capped, less swayed by real outliers than
  precision), and the share of real balls that hold at least one generated image.
- `CopyCheck`: memorisation. A near-copy is an image closer to its nearest training image than
  all but `quantile` of held-out real images are to theirs; generated images of a generator that
  copies are near-copies far more often than held-out real images.
"""

import numpy as np

from tfgan2 import errors

CHUNK_ELEMENTS = 4_000_000  # Distances computed at once (32 MB).
PRECISION_RECALL_K = 3  # Kynkäänniemi et al.'s choice.
DENSITY_COVERAGE_K = 5  # Naeem et al.'s choice.
COPY_QUANTILE = 0.01
COPY_FLAG_SHARE = 0.05  # Five times the share of held-out real images that reads as near-copies.


def _checked(features, name):
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise errors.ConfigError(f'{name} must be at least two feature vectors as [N, D], got shape '
                                 f'{features.shape}; evaluate more samples.')
    return features


def _distance_chunks(queries, references):
    """Yields (row offset, Euclidean distances [rows, M]) from chunks of `queries` [N, D] to
    every row of `references` [M, D]."""
    reference_norms = np.sum(references ** 2, axis=1)
    rows = max(1, CHUNK_ELEMENTS // max(len(references), 1))
    for start in range(0, len(queries), rows):
        chunk = queries[start:start + rows]
        squared = np.sum(chunk ** 2, axis=1)[:, None] + reference_norms[None, :] - 2 * chunk @ references.T
        yield start, np.sqrt(np.clip(squared, 0, None))


def nearest_distance(queries, *reference_sets):
    """[N]: the distance of each row of `queries` [N, D] to its nearest row of any of
    `reference_sets` ([M_i, D] each)."""
    queries = np.asarray(queries, np.float64)
    nearest = np.full(len(queries), np.inf)
    for references in reference_sets:
        for start, distances in _distance_chunks(queries, np.asarray(references, np.float64)):
            rows = slice(start, start + len(distances))
            nearest[rows] = np.minimum(nearest[rows], distances.min(axis=1))
    return nearest


def neighbour_radii(features, k):
    """[N]: the distance from each row of `features` [N, D] to its k-th nearest other row."""
    features = _checked(features, 'features')
    k = min(k, len(features) - 1)
    radii = np.empty(len(features))
    for start, distances in _distance_chunks(features, features):
        rows = np.arange(start, start + len(distances))
        distances[rows - start, rows] = np.inf  # Not its own neighbour.
        radii[rows] = np.partition(distances, k - 1, axis=1)[:, k - 1]
    return radii


class ManifoldReference:
    """Real features [M, D] with each one's k-NN radius, computed once, for precision, recall,
    density and coverage of any number of feature sets."""

    def __init__(self, features, precision_recall_k=PRECISION_RECALL_K, density_coverage_k=DENSITY_COVERAGE_K):
        self.features = _checked(features, 'real features')
        self.precision_recall_k, self.density_coverage_k = precision_recall_k, density_coverage_k
        self.precision_radii = neighbour_radii(self.features, precision_recall_k)
        self.density_radii = neighbour_radii(self.features, density_coverage_k)

    def figures(self, features):
        """{'precision', 'recall', 'density', 'coverage'} of features [N, D] against the reference."""
        features = _checked(features, 'features')
        own_radii = neighbour_radii(features, self.precision_recall_k)
        in_real_ball = np.zeros(len(features), bool)
        balls_entered = np.zeros(len(features))
        nearest_to_real = np.full(len(self.features), np.inf)
        real_recalled = np.zeros(len(self.features), bool)
        for start, distances in _distance_chunks(features, self.features):
            rows = slice(start, start + len(distances))
            in_real_ball[rows] = np.any(distances <= self.precision_radii[None, :], axis=1)
            balls_entered[rows] = np.sum(distances <= self.density_radii[None, :], axis=1)
            nearest_to_real = np.minimum(nearest_to_real, distances.min(axis=0))
            real_recalled |= np.any(distances <= own_radii[rows, None], axis=0)
        return {'precision': float(in_real_ball.mean()), 'recall': float(real_recalled.mean()),
                'density': float(balls_entered.mean() / self.density_coverage_k),
                'coverage': float(np.mean(nearest_to_real <= self.density_radii))}


class CopyCheck:
    """Counts near-copies of training images. `threshold` is the `quantile` of the distances
    from `calibration` real images (held out from training) to their nearest training image."""

    def __init__(self, calibration_distances, quantile=COPY_QUANTILE):
        self.threshold = float(np.quantile(np.asarray(calibration_distances, np.float64), quantile))

    def share(self, distances):
        """The share of images whose nearest-training-image distances [N] are near-copies."""
        return float(np.mean(np.asarray(distances) <= self.threshold))


def resampled_interval(pool, sizes, measure, resamples=20, percentiles=(5, 95), seed=0):
    """(low, high) percentiles of `measure(a, b)` over random splits of the rows of `pool` into
    disjoint sets of `sizes` (a, b): the spread of a real-vs-real figure from sampling alone."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        order = rng.permutation(len(pool))
        values.append(measure(pool[order[:sizes[0]]], pool[order[sizes[0]:sizes[0] + sizes[1]]]))
    low, high = np.percentile(values, percentiles)
    return float(low), float(high)
