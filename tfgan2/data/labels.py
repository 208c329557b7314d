"""Labels are checked against the data before anything is built from them: the number of classes
sizes models, so one stray label must not make a 256-class model or a 2e9-class one."""

import numpy as np

from tfgan2 import errors


def checked_labels(labels, count, class_names, source):
    """(labels int32 [count], class_names tuple or None) for `count` images; labels None means
    unlabeled (all -1). Without class_names they are '0'..'K-1', and every class must occur."""
    if labels is None:
        return np.full(count, -1, np.int32), None
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (count,):
        raise errors.DataError(f'{source}: {count} images but labels of shape {labels.shape}; pass one '
                               f'integer class per image.')
    if not np.issubdtype(labels.dtype, np.integer):
        raise errors.DataError(f'{source}: labels are {labels.dtype}; pass integer classes 0..K-1.')
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise errors.DataError(f'{source}: label {low} is negative; classes must be 0..K-1 (pass no '
                               f'labels for unlabeled data).')
    if class_names is not None:
        class_names = tuple(str(name) for name in class_names)
        if high >= len(class_names):
            raise errors.DataError(f'{source}: label {high} but {len(class_names)} class names; pass '
                                   f'one name per class 0..{high}, or fix the labels.')
        return labels.astype(np.int32), class_names
    present = np.unique(labels)
    if len(present) != high + 1:
        gaps = np.flatnonzero(present != np.arange(len(present)))
        missing = int(gaps[0]) if len(gaps) else len(present)
        raise errors.DataError(f'{source}: labels go up to {high} but only {len(present)} of the classes '
                               f'0..{high} occur ({missing} never does); relabel them as 0..'
                               f'{len(present) - 1}, drop stray labels, or pass class_names for every class.')
    return labels.astype(np.int32), tuple(str(label) for label in range(high + 1))
