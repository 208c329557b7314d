"""Reading and publishing files through tf.io.gfile, so caches and reports work on `gs://` and
`ram://` as on local disks."""

import contextlib
import os
import tempfile
import uuid

import tensorflow as tf


def publish(path, write):
    """Calls `write(tmp)` on a hidden sibling of `path`, then renames it to `path`, so that readers
    see the whole file or none of it."""
    directory, name = os.path.split(path)
    tf.io.gfile.makedirs(directory)
    tmp = os.path.join(directory, f'.{name}.{uuid.uuid4().hex}.tmp')
    try:
        write(tmp)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)


def write_text(path, text):
    with tf.io.gfile.GFile(path, 'w') as f:
        f.write(text)


def read_text(path):
    with tf.io.gfile.GFile(path) as f:
        return f.read()


@contextlib.contextmanager
def local_copy(path):
    """Yields a local path holding the file at `path`: `path` itself when local, else a temporary
    copy (same file name, for libraries that go by the extension), removed afterwards."""
    if '://' not in path:
        yield path
        return
    with tempfile.TemporaryDirectory() as local_dir:
        local = os.path.join(local_dir, os.path.basename(path))
        tf.io.gfile.copy(path, local)
        yield local
