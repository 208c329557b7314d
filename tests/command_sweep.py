"""Runs one tfgan2 command's main over many argument lists in one process, the way the command
runs it (flags parsed by absl, errors reported by `cli.with_one_line_errors`), and tells how each
ended: a result, one `error:`/`stopped:` line, a refused flag, or a bug (a traceback).

One process per command keeps a sweep over every flag's extremes cheap: TensorFlow loads once.
Importing a command defines its flags in the process for good, so tests run this as a script:

    python tests/command_sweep.py tfgan2.cli.generate '[["--saved_model=..."], ...]'

and read one JSON list of outcomes from the last line of its stdout (`run_sweep`).
"""

import contextlib
import importlib
import io
import json
import logging
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def outcome(flags, main, args):
    """{'kind': 'result'|'error'|'flag'|'bug', 'line': the last line said, 'stdout', 'stderr',
    'tensorflow': whether TensorFlow was loaded when the case ended}."""
    from absl.testing import flagsaver

    from tfgan2 import cli
    stdout, stderr = io.StringIO(), io.StringIO()
    kind, line = 'result', ''
    with flagsaver.flagsaver(), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            _library_messages(stderr):
        try:
            flags.FLAGS([main.__module__, *args])
        except flags.Error as e:  # what absl's app.run reports as 'FATAL Flags parsing error: ...'
            return {'kind': 'flag', 'line': str(e), 'stdout': '', 'stderr': '', 'tensorflow': _tensorflow_loaded()}
        try:
            cli.with_one_line_errors(main)([main.__module__])
        except SystemExit as e:
            line = str(e.code) if e.code not in (None, 0) else ''
            kind = 'error' if line else 'result'
        except BaseException as e:  # noqa: BLE001 - anything else escaping the command is a bug
            kind, line = 'bug', f'{type(e).__name__}: {e}'
    said = stderr.getvalue()
    if 'Traceback (most recent call last)' in said or 'is a bug in tfgan2' in line or '\n' in line:
        kind = 'bug'
    return {'kind': kind, 'line': line, 'stdout': stdout.getvalue()[-2000:], 'stderr': said[-4000:],
            'tensorflow': _tensorflow_loaded()}


@contextlib.contextmanager
def _library_messages(stream):
    """tfgan2's messages on `stream`, as a command shows them on stderr."""
    library, handler = logging.getLogger('tfgan2'), logging.StreamHandler(stream)
    library.addHandler(handler)
    library.setLevel(logging.INFO)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)


def _tensorflow_loaded():
    return 'tensorflow' in sys.modules


def run_sweep(module, cases, env=None, timeout=1800):
    """Outcomes of `module`'s main for each argument list in `cases`, in a fresh process."""
    result = subprocess.run([sys.executable, os.path.join(HERE, 'command_sweep.py'), module, json.dumps(cases)],
                            capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _main(module_name, cases):
    from absl import flags
    module = importlib.import_module(module_name)
    outcomes = []
    for args in cases:
        outcomes.append(outcome(flags, module.main, args))
        _reset_keras()
    print(json.dumps(outcomes))


def _reset_keras():
    """Undoes what one run of a command leaves in the process that the next would inherit."""
    if 'keras' in sys.modules:
        sys.modules['keras'].mixed_precision.set_global_policy('float32')


if __name__ == '__main__':
    _main(sys.argv[1], json.loads(sys.argv[2]))
