"""Files through `tf.io.gfile`, so a path may be local, `gs://` or `ram://`: whole-or-nothing
writes, local copies for libraries that need them, an exclusive lock on a folder, and the quick
offline check that downloads go through.

Guarantees: locally (POSIX), a written file appears by an atomic rename of a hidden sibling,
and the lock is an `flock` that the kernel releases when its process dies. On object stores
(`gs://`) each file is uploaded as one object, which readers see whole or not at all; the lock
is a lock file with a heartbeat, best effort (two processes starting in the same second can
both win), and a holder silent for `stale_after` seconds counts as dead.
"""

import contextlib
import getpass
import json
import logging
import math
import os
import re
import socket
import sys
import tempfile
import time
import uuid

import tensorflow as tf

from tfgan2 import errors

logger = logging.getLogger(__name__)


def is_local(path):
    """True for paths of the local filesystem (no `scheme://`)."""
    return '://' not in str(path) or str(path).startswith('file://')


def join(*parts):
    return os.path.join(*(str(part) for part in parts))


def basename(path):
    return os.path.basename(str(path))


def exists(path):
    return tf.io.gfile.exists(path)


def makedirs(path):
    """Creates `path` and its parents; one clear error when a file stands in the way."""
    if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
        raise errors.ConfigError(f'{path} is a file, not a folder; choose another path.')
    try:
        tf.io.gfile.makedirs(path)
    except tf.errors.OpError as e:
        raise errors.ConfigError(f'Cannot create the folder {path} ({error_line(e)}); choose a '
                                 f'writable path.') from None


def read_text(path, max_bytes=None):
    """The text in `path`; with `max_bytes`, a `RunError` naming the file when it is larger
    (a damaged or planted file must not fill the memory)."""
    if max_bytes is not None and tf.io.gfile.stat(path).length > max_bytes:
        raise errors.RunError(f'{path} holds {tf.io.gfile.stat(path).length} bytes, far more than a file written '
                              f'by tfgan2 ({max_bytes} at most): it is damaged. Restore it from a copy, or move '
                              f'it away.')
    with tf.io.gfile.GFile(path, 'r') as f:
        return f.read()


def read_bytes(path):
    with tf.io.gfile.GFile(path, 'rb') as f:
        return f.read()


def is_in_memory(path):
    """True for `ram://` paths, which live in this process's memory and vanish with it."""
    return str(path).startswith('ram://')


@contextlib.contextmanager
def writing(path):
    """Within the block, a failed write (a full disk, a read-only or missing folder) ends in one
    `ConfigError` naming `path` and the reason, as `publish` reports its own."""
    try:
        yield
    except (OSError, tf.errors.OpError) as e:
        raise errors.ConfigError(cannot_write(path, e)) from None


def cannot_write(path, error):
    """The one line that says `path` could not be written, why (`error`), and what to do."""
    return f'Cannot write {path} ({error_line(error)}); free space on its disk or choose a writable path.'


def publish(path, write):
    """Calls `write(temporary)` to write a hidden sibling of `path`, then renames it to `path`,
    so readers see the whole file or none of it; nothing is left behind when it fails."""
    folder, name = os.path.split(str(path))
    temporary = join(folder, f'.{name}.tmp-{uuid.uuid4().hex[:8]}')
    try:
        with writing(path):
            if folder:
                tf.io.gfile.makedirs(folder)
            write(temporary)
            tf.io.gfile.rename(temporary, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(temporary):
            tf.io.gfile.remove(temporary)


def write_atomically(path, content):
    """Writes `content` (bytes or str) to `path`, whole or not at all (`publish`)."""
    def write(temporary):
        with tf.io.gfile.GFile(temporary, 'wb' if isinstance(content, bytes) else 'w') as f:
            f.write(content)
    publish(path, write)


@contextlib.contextmanager
def local_copy(path):
    """Yields a local path holding the file at `path`: `path` itself when local, else a temporary
    copy with the same file name (for libraries that go by the extension), removed afterwards."""
    if is_local(path):
        yield str(path)
        return
    with tempfile.TemporaryDirectory() as folder:
        local = os.path.join(folder, basename(path))
        tf.io.gfile.copy(path, local)
        yield local


def host_reachable(host, timeout_s=3.0):
    """True when `host` answers on port 443 within `timeout_s`: a quick offline check before a
    library that would retry a download for minutes."""
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def error_line(error):
    """The first line of what an OSError or a TensorFlow error says, without what TensorFlow
    wraps around it: the failed op's name ({{...}}, [Op:...]) and the path of a temporary file
    before the reason (`path; No space left on device`)."""
    text = str(getattr(error, 'strerror', None) or getattr(error, 'message', None) or error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    line = re.sub(r'^\{\{[^}]*\}\}\s*|\s*\[Op:\w+\].*$', '', line)
    return re.sub(r'^\S*(tempstate|_temp|\.tmp-)\S*; ', '', line)


# A lock file holds one small JSON object; no more of a damaged one is read.
MAX_LOCK_BYTES = 4096


class FolderInUseError(errors.Error, RuntimeError):
    """Another process holds the folder's lock."""


def _holder():
    return {'pid': os.getpid(), 'host': socket.gethostname(), 'user': getpass.getuser(),
            'since': time.strftime('%Y-%m-%d %H:%M:%S'), 'command': ' '.join(sys.argv)[:200],
            'heartbeat': time.time()}


def _describe(holder):
    if not isinstance(holder, dict):
        return 'another process'
    said = {key: str(holder.get(key))[:200].replace('\n', ' ') for key in ('pid', 'user', 'host', 'since', 'command')}
    return f'process {said["pid"]} of {said["user"]} on {said["host"]} since {said["since"]} ({said["command"]})'


class FolderLock:
    """An exclusive lock on a folder, held from `acquire()` to `release()` (see the module
    docstring for what it guarantees where)."""

    def __init__(self, folder, stale_after=600.0):
        self.path = join(folder, '.lock')
        self.stale_after = stale_after
        self._file = None

    def acquire(self):
        if is_local(self.path):
            self._acquire_local()
        else:
            self._acquire_remote()
        return self

    def _acquire_local(self):
        import fcntl  # POSIX only; imported here so the module loads everywhere.
        makedirs(os.path.dirname(self.path))
        try:  # Any bytes read back as text: a damaged lock file is only ever described.
            handle = open(self.path, 'a+', encoding='utf-8', errors='replace')
        except OSError as e:
            raise errors.ConfigError(f'Cannot open the lock file {self.path} ({e.strerror}); make its folder '
                                     f'writable (and {self.path} a file), or choose another folder.') from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read(MAX_LOCK_BYTES)
            handle.close()
            raise FolderInUseError(self._in_use_message(_parse(holder))) from None
        try:
            handle.seek(0)
            handle.truncate()
            json.dump(_holder(), handle)
            handle.flush()
        except OSError as e:
            handle.close()
            raise errors.ConfigError(cannot_write(self.path, e)) from None
        self._file = handle

    def _acquire_remote(self):
        if tf.io.gfile.exists(self.path):
            with tf.io.gfile.GFile(self.path, 'rb') as f:
                holder = _parse(f.read(MAX_LOCK_BYTES))
            age = time.time() - holder['heartbeat'] if holder else None
            if age is not None and -self.stale_after < age < self.stale_after:
                raise FolderInUseError(self._in_use_message(holder, age))
            if holder is None or age < 0:  # unreadable, or a heartbeat from the future
                logger.warning('%s names no live holder (damaged); taking the lock over.', self.path)
        mine = _holder()
        write_atomically(self.path, json.dumps(mine))
        self._file = mine

    def _in_use_message(self, holder, age=None):
        seen = f', last seen {age:.0f} s ago' if age is not None else ''
        folder = os.path.dirname(self.path)
        return (f'{folder} is in use by {_describe(holder)}{seen}. Wait for it to finish or stop it, '
                f'or use another folder.')

    def refresh(self):
        """Renews the heartbeat of a lock on an object store (a no-op locally)."""
        if isinstance(self._file, dict):
            self._file['heartbeat'] = time.time()
            write_atomically(self.path, json.dumps(self._file))

    def release(self):
        if self._file is None:
            return
        if isinstance(self._file, dict):
            if tf.io.gfile.exists(self.path):
                tf.io.gfile.remove(self.path)
        else:
            self._file.close()  # closing releases the flock
        self._file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _parse(content):
    """The holder a lock file names (a dict with a finite `heartbeat`), or None for anything else."""
    if isinstance(content, bytes):
        content = content.decode('utf-8', errors='replace')
    try:
        holder = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if not isinstance(holder, dict) or isinstance(holder.get('heartbeat'), bool):
        return None
    if not isinstance(holder.get('heartbeat'), (int, float)) or not math.isfinite(holder['heartbeat']):
        return None
    return holder
