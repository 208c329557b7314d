"""Sample-quality figures computed from classifier features and logits (numpy, float64).

- `frechet_distance`: distance between Gaussians fitted to two feature sets (FID's formula).
- `kernel_distance`: KID's unbiased polynomial-kernel MMD between two feature sets.
- `classifier_score`: exp E[KL(p(y|x) || p(y))] (the Inception score's formula): high when each
  image is confidently one class and the classes are evenly covered; `classifier_score_parts`
  splits its log into those two parts (coverage and ambiguity).
- `class_shares` / `total_variation_distance`: the class histogram, and how far two are apart.
- `label_accuracy`: how often generated images are classified as the label they were asked for.
- `class_diversity` / `collapsed_classes`: per class, how varied the images are, and which classes
  a generator has dropped or squeezed into one or a few near-identical images (mode collapse).
"""

import functools

import numpy as np

from tfgan2 import errors


def _sqrt_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix via its eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def gaussian_statistics(features):
    """(mean [D], covariance [D, D]) of features [N, D]."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise errors.ConfigError(f'Need at least two feature vectors as [N, D] to fit a Gaussian, got shape '
                                 f'{features.shape}; evaluate more samples.')
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _frechet_distance(mean_a, cov_a, mean_b, cov_b, cross_eigenvalues):
    """The distance, given the eigenvalues of S_a S_b (tr((S_a S_b)^1/2) is their roots' sum)."""
    trace_sqrt = np.sqrt(np.clip(cross_eigenvalues, 0, None)).sum()
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))


def frechet_distance_from_statistics(mean_a, cov_a, mean_b, cov_b):
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^1/2).

    tr((S_a S_b)^1/2) is computed as tr((S_b^1/2 S_a S_b^1/2)^1/2): the same eigenvalues, but a
    symmetric PSD matrix, so eigh is stable and no complex parts appear (no scipy needed)."""
    sqrt_b = _sqrt_psd(cov_b)
    return _frechet_distance(mean_a, cov_a, mean_b, cov_b, np.linalg.eigvalsh(sqrt_b @ cov_a @ sqrt_b))


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to features [N, D] and [M, D]."""
    return frechet_distance_from_statistics(*gaussian_statistics(features_a),
                                            *gaussian_statistics(features_b))


class FrechetReference:
    """A reference feature set [M, D] to measure Fréchet distances to, with the square root of its
    covariance computed once (and only if needed)."""

    def __init__(self, features):
        self.mean, self.cov = gaussian_statistics(features)

    @functools.cached_property
    def _sqrt_cov(self):
        return _sqrt_psd(self.cov)

    def distance(self, features):
        """Fréchet distance from features [N, D] to the reference. With fewer rows than dimensions
        the eigenvalues of (S_ref^1/2 S S_ref^1/2) are taken from the smaller X S_ref X^T / (N - 1)
        (X: the centred rows), which has the same nonzero ones."""
        mean, cov = gaussian_statistics(features)
        if len(features) < len(mean):
            centred = np.asarray(features, np.float64) - mean
            cross = np.linalg.eigvalsh(centred @ self.cov @ centred.T / (len(features) - 1))
        else:
            cross = np.linalg.eigvalsh(self._sqrt_cov @ cov @ self._sqrt_cov)
        return _frechet_distance(mean, cov, self.mean, self.cov, cross)


def _polynomial_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x, y):
    """Unbiased MMD^2 between equal-sized samples x, y [m, D] under `_polynomial_kernel`."""
    m = len(x)
    k_xx, k_yy = _polynomial_kernel(x, x), _polynomial_kernel(y, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return within - 2 * _polynomial_kernel(x, y).mean()


def kernel_distance(features_a, features_b, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception distance's estimator (Binkowski et al. 2018): the unbiased MMD^2 between
    features [N, D] and [M, D] under k(x, y) = (x.y / D + 1)^3, averaged over `num_subsets` random
    subsets of `subset_size` rows from each (fewer when a set is smaller). Near 0 for sets from
    one distribution, and unbiased, so it can come out slightly negative."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise errors.ConfigError(f'Need two feature sets [N, D] and [M, D] of at least two rows each, got '
                                 f'shapes {a.shape} and {b.shape}; evaluate more samples.')
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    return float(np.mean([_unbiased_mmd2(a[rng.choice(len(a), size, replace=False)],
                                         b[rng.choice(len(b), size, replace=False)])
                          for _ in range(num_subsets)]))


def _log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def classifier_score(logits):
    """exp(mean_x KL(p(y|x) || p(y))) from logits [N, K]; between 1 (every image gets the same
    prediction) and K (confident predictions spread evenly over the K classes)."""
    log_p = _log_softmax(logits)
    p = np.exp(log_p)
    log_marginal = np.log(p.mean(axis=0) + 1e-30)
    return float(np.exp(np.mean(np.sum(p * (log_p - log_marginal), axis=-1))))


def classifier_score_parts(logits):
    """(coverage, ambiguity) in nats from logits [N, K], with log(classifier score) = coverage -
    ambiguity. Coverage is the entropy of the mean prediction (log K when the classes are evenly
    covered); ambiguity the mean entropy of each prediction (0 when each image is clearly one class)."""
    log_p = _log_softmax(logits)
    p = np.exp(log_p)
    marginal = p.mean(axis=0)
    coverage = -np.sum(marginal * np.log(marginal + 1e-30))
    ambiguity = -np.mean(np.sum(p * log_p, axis=-1))
    return float(coverage), float(ambiguity)


def class_shares(classes, num_classes):
    """The class histogram: the share of each class id in `classes` [N], as [K] summing to 1."""
    return np.bincount(np.asarray(classes), minlength=num_classes)[:num_classes] / max(len(classes), 1)


def total_variation_distance(shares_a, shares_b):
    """Half the L1 distance between two class histograms: the share of images that would have to
    change class to turn one into the other (0 when equal, 1 when they share no class)."""
    return float(0.5 * np.abs(np.asarray(shares_a, np.float64) - np.asarray(shares_b, np.float64)).sum())


def label_accuracy(predicted, requested, num_classes):
    """(overall accuracy, accuracy per class [K]) of `predicted` class ids against the `requested`
    ones; a class never requested gets NaN."""
    predicted, requested = np.asarray(predicted), np.asarray(requested)
    if predicted.shape != requested.shape or predicted.ndim != 1:
        raise errors.ConfigError(f'predicted {predicted.shape} and requested {requested.shape} labels must be '
                                 f'1-D arrays of the same length.')
    correct = predicted == requested
    per_class = np.array([correct[requested == c].mean() if np.any(requested == c) else np.nan
                          for c in range(num_classes)])
    return float(correct.mean()), per_class


def mean_pairwise_distance(features, max_samples=1000):
    """Mean Euclidean distance between distinct rows of features [N, D] (the first `max_samples`
    rows, to bound the N^2 cost); NaN with fewer than two rows."""
    features = np.asarray(features, np.float64)[:max_samples]
    n = len(features)
    if n < 2:
        return float('nan')
    squared = np.sum(features ** 2, axis=1)
    distances = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2 * features @ features.T, 0, None))
    return float(distances.sum() / (n * (n - 1)))


def class_diversity(features, classes, num_classes):
    """(share of rows per class [K], diversity within each class [K]).

    Diversity is the mean pairwise distance between unit-length features, i.e. between feature
    directions: dim or low-contrast images shrink feature norms without being copies of each
    other, and should not read as collapse."""
    classes = np.asarray(classes)
    features = np.asarray(features, np.float64)
    directions = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    share = class_shares(classes, num_classes)
    diversity = np.array([mean_pairwise_distance(directions[classes == c]) for c in range(num_classes)])
    return share, diversity


DROPPED, LOW_DIVERSITY = 'dropped', 'low diversity'


def collapsed_classes(share, diversity, real_share, real_diversity, min_share_ratio=0.25,
                      min_diversity_ratio=0.6):
    """{class index: why} for the classes a generator dropped (share under `min_share_ratio` of
    the real share) or collapsed (diversity under `min_diversity_ratio` of the real diversity; 0.6
    is the worst-class diversity target, so a class at half of real diversity is caught)."""
    flagged = {}
    for c in range(len(real_share)):
        if real_share[c] == 0:
            continue
        if share[c] < min_share_ratio * real_share[c]:
            flagged[c] = DROPPED
        # Under two generated images in a class (NaN diversity) counts as collapsed.
        elif np.isfinite(real_diversity[c]) and not diversity[c] >= min_diversity_ratio * real_diversity[c]:
            flagged[c] = LOW_DIVERSITY
    return flagged
