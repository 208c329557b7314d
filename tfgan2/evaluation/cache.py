"""The cache of feature networks that evaluation trains on a dataset (the classifier, the
self-supervised encoder): one folder per network, named by the data's validated name and a
fingerprint of its training sample and recipe, so changed data or a changed recipe trains a new
network instead of silently reusing a stale one. Paths are built from a validated name and the
fingerprint only, never from a run's files; any tf.io.gfile path can hold the cache.
"""

import hashlib
import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import storage
from tfgan2.data import checked_name

MODEL_FILE = 'model.keras'
INFO_FILE = 'info.json'  # Written last: a cache entry is complete when it exists.


def default_cache_dir():
    """$TFGAN2_CACHE if set, else ~/.cache/tfgan2."""
    return os.environ.get('TFGAN2_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'tfgan2')


def fingerprint(recipe, *arrays):
    """A short hash of `recipe` (anything JSON can write) and the bytes of `arrays`, in order."""
    digest = hashlib.sha256()
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def entry_path(cache_dir, kind, name, key):
    """The folder of the `kind` network ('classifiers', 'encoders') of the data called `name`."""
    return os.path.join(cache_dir or default_cache_dir(), kind, f'{checked_name(name)}-{key}')


def load_or_train(path, train, model_file=MODEL_FILE):
    """(Keras model, info dict) from the cache entry at `path`, else from `train()`, which returns
    them, published there first: the model file, then its info, each whole, so an entry is read
    only once complete, and concurrent writers of one entry write the same network."""
    if not tf.io.gfile.exists(os.path.join(path, INFO_FILE)):
        model, info = train()
        with tempfile.TemporaryDirectory() as local_dir:
            local = os.path.join(local_dir, model_file)  # Keras saves to local paths only.
            model.save(local)
            storage.publish(os.path.join(path, model_file),
                            lambda tmp: tf.io.gfile.copy(local, tmp, overwrite=True))
        storage.write_atomically(os.path.join(path, INFO_FILE), json.dumps(info, indent=2))
    info = json.loads(storage.read_text(os.path.join(path, INFO_FILE)))
    with storage.local_copy(os.path.join(path, model_file)) as local:
        return keras.saving.load_model(local), info
