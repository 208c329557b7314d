"""Degraded copies of real images, the rungs of a ladder that a quality metric must rank as a
trusted one does (benchmarks/honest_metric.py and tests/test_selfsupervised.py). Every function
takes and returns uint8 images [N, H, W, C] and draws from a numpy Generator `rng`.
"""

import numpy as np


def _blur_matrix(size, sigma):
    """[size, size]: row i holds Gaussian weights around pixel i, renormalised at the borders."""
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def blur(images, sigma, rng=None):
    """Gaussian blur of standard deviation `sigma` pixels."""
    del rng
    x = images.astype(np.float64)
    x = np.einsum('ij,njwc->niwc', _blur_matrix(x.shape[1], sigma), x)
    x = np.einsum('ij,nhjc->nhic', _blur_matrix(x.shape[2], sigma), x)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def noise(images, sigma, rng):
    """Gaussian pixel noise of standard deviation `sigma` (in 0-255 units), clipped."""
    return np.clip(np.round(images + rng.normal(scale=sigma, size=images.shape)), 0, 255).astype(np.uint8)


def repeated(images, unique_fraction, rng):
    """The same number of images, drawn from only the first `unique_fraction` of them (a generator
    with too little variety)."""
    unique = max(1, int(round(len(images) * unique_fraction)))
    return images[np.sort(rng.integers(0, unique, len(images)))]


def with_copies(images, train_images, fraction, rng):
    """`images` with a `fraction` of them replaced by training images (a generator that
    memorises that share)."""
    copies = int(round(len(images) * fraction))
    chosen = rng.choice(len(images), copies, replace=False)
    out = images.copy()
    out[chosen] = train_images[rng.choice(len(train_images), copies, replace=False)]
    return out


def without_classes(images, labels, classes, count, rng):
    """`count` images none of whose labels is in `classes` (a generator that dropped them)."""
    kept = np.flatnonzero(~np.isin(labels, list(classes)))
    if len(kept) < count:
        raise ValueError(f'Only {len(kept)} images are left without classes {classes}; {count} were asked for.')
    return images[np.sort(rng.choice(kept, count, replace=False))]


def spearman(a, b):
    """Spearman's rank correlation of two equally long sequences (average ranks for ties)."""
    def ranks(values):
        values = np.asarray(values, np.float64)
        order = np.argsort(values, kind='stable')
        ranked = np.empty(len(values))
        ranked[order] = np.arange(len(values))
        for value in np.unique(values):  # Ties share their mean rank.
            ranked[values == value] = ranked[values == value].mean()
        return ranked
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])
