"""How every command reports errors: a tfgan2 error in one line, anything else as a bug with its
traceback, and --traceback or $TFGAN2_TRACEBACK showing the traceback of both; and which
commands answer --help without loading TensorFlow (all but tfgan2-train, whose flags are the models')."""

import os
import subprocess
import sys

import pytest
from conftest import PATIENCE_S

# A command whose main raises what argv[1] names, run the way every tfgan2 command runs.
COMMAND = '''
import sys
from tfgan2 import cli, errors
raised = sys.argv.pop(1)
def main(argv):
    if raised == 'config':
        raise errors.ConfigError('verbosity=9: use a value at most 1.')
    if raised == 'value':
        raise ValueError('a ValueError from somewhere inside Keras')
    return 0
cli.run(main, __name__)
'''


def command(raised, *flags, env=None):
    return subprocess.run([sys.executable, '-c', COMMAND, raised, *flags], capture_output=True, text=True,
                          timeout=PATIENCE_S, env={**os.environ, **(env or {})})


def test_a_library_error_ends_in_one_line_naming_the_flag():
    result = command('config')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ['error: --verbosity=9: use a value at most 1.']


def test_any_other_error_is_reported_as_a_bug_with_its_traceback():
    result = command('value')
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == 'Traceback (most recent call last):'
    assert 'ValueError: a ValueError from somewhere inside Keras' in lines
    assert lines[-1].startswith('error: ValueError is a bug in tfgan2') and 'report it' in lines[-1]


@pytest.mark.parametrize('flags, env', [(['--traceback'], None), ([], {'TFGAN2_TRACEBACK': '1'})])
def test_the_traceback_of_a_library_error_on_request(flags, env):
    result = command('config', *flags, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == 'Traceback (most recent call last):' and 'tfgan2.errors.ConfigError' in lines[-2]
    assert lines[-1] == 'error: --verbosity=9: use a value at most 1.'


def test_library_errors_are_the_built_in_types_python_users_catch():
    from tfgan2 import data, errors, run
    from tfgan2.storage import FolderInUseError
    from tfgan2.training.loop import NonFiniteLossError
    assert issubclass(errors.ConfigError, ValueError) and issubclass(errors.DataError, ValueError)
    assert issubclass(data.DataUnavailableError, errors.DataError)
    assert issubclass(run.CheckpointError, errors.Error) and issubclass(run.RunRecordError, errors.Error)
    assert issubclass(FolderInUseError, RuntimeError) and issubclass(FolderInUseError, errors.Error)
    assert issubclass(NonFiniteLossError, RuntimeError) and issubclass(NonFiniteLossError, errors.Error)


# Runs a command with --help the way its console script does, then says whether TensorFlow loaded.
HELP = """
import runpy, sys
command = sys.argv[1]
sys.argv = [command, '--help']
run = runpy.run_path if command.endswith('.py') else runpy.run_module
try:
    run(command, run_name='__main__')
except SystemExit:
    pass
print('tensorflow loaded' if 'tensorflow' in sys.modules else 'no tensorflow')
"""


def help_of(command):
    result = subprocess.run([sys.executable, '-c', HELP, command], capture_output=True, text=True, timeout=PATIENCE_S,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert '--help' in result.stdout  # absl's --help lists the flags, --help among them
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('command', ['tfgan2.cli.export', 'tfgan2.cli.generate', 'tfgan2.cli.evaluate',
                                     'serving/client.py'])
def test_help_answers_without_loading_tensorflow(command):
    assert help_of(command) == 'no tensorflow'


def test_train_help_loads_the_models_it_lists():
    """tfgan2-train's model flags come from the model classes, which are Keras models, so its
    --help loads TensorFlow (a few seconds); the docs promise no more than that."""
    assert help_of('tfgan2.cli.train') == 'tensorflow loaded'
