"""absl command-line entry points; each is a thin shell over the library."""

import logging as std_logging
import os
import re
import signal
import sys
import threading
import traceback

from absl import app, flags, logging

from tfgan2 import errors

# Before any command imports TensorFlow: its C++ INFO lines (oneDNN, CPU features) stay quiet.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# What a command stopped by Ctrl-C or SIGTERM outside training says (training says more).
INTERRUPTED = ('stopped: interrupted (Ctrl-C or SIGTERM). Files written before are intact; run the command '
               'again to do what is left.')


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt


def _interrupt_in_one_line(kind, value, trace, previous=sys.excepthook):
    """Python's last word on an exception nothing caught: one line for Ctrl-C (it can arrive
    while a command still imports TensorFlow), the usual traceback for anything else."""
    if issubclass(kind, KeyboardInterrupt):
        print(INTERRUPTED, file=sys.stderr)
        return
    previous(kind, value, trace)


# From the moment a command module imports this package: SIGTERM stops a command as Ctrl-C
# does, and neither ends in a traceback, even before `run` is reached.
if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _interrupt_in_one_line

# Set to 1 to see the traceback of every error, the one-line ones included.
TRACEBACK_VARIABLE = 'TFGAN2_TRACEBACK'

flags.DEFINE_boolean('traceback', False, f'Show the full traceback of any error, also of the one-line errors '
                     f'about settings and data (or set {TRACEBACK_VARIABLE}=1).')


def run(main, module_name):
    """Runs an absl `main` the way every tfgan2 command runs: stray arguments refused, TF's
    INFO chatter off unless --verbosity is given, tfgan2's own messages on stderr, errors as
    `with_one_line_errors` reports them, and `--help` listing the flags of `module_name` however
    the command was started (absl shows the key flags of the module named by sys.argv[0], which
    for a console script is its wrapper)."""
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS['traceback'])

    def quiet_main(argv):
        if len(argv) > 1:
            raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
        if not flags.FLAGS['verbosity'].present:
            logging.set_verbosity(logging.WARNING)  # Keep TF's per-save INFO lines out of the progress bar.
        _show_library_messages()
        return with_one_line_errors(main)(argv)

    app.run(quiet_main)


def _show_library_messages():
    """tfgan2's INFO and WARNING lines, as plain lines on stderr (stdout carries the results)."""
    handler = std_logging.StreamHandler(sys.stderr)
    handler.setFormatter(std_logging.Formatter('%(message)s'))
    library = std_logging.getLogger('tfgan2')
    library.addHandler(handler)
    library.setLevel(std_logging.INFO)
    library.propagate = False


def show_tracebacks():
    """Whether --traceback or $TFGAN2_TRACEBACK asks for the traceback of every error."""
    return flags.FLAGS['traceback'].value or os.environ.get(TRACEBACK_VARIABLE, '') not in ('', '0')


def with_one_line_errors(main):
    """`main`, ending the command in one line for a `tfgan2.errors.Error` (a problem the user
    can fix: `exit_with`), and with the traceback and a line saying it is a bug for anything
    else; --traceback shows the traceback of both."""
    def main_with_one_line_errors(argv):
        try:
            return main(argv)
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM; training says what it saved.
            if show_tracebacks():
                traceback.print_exc()
            sys.exit(f'stopped: {e}' if str(e) else INTERRUPTED)
        except errors.Error as e:
            if show_tracebacks():
                traceback.print_exc()
            exit_with(e)
        except Exception as e:  # noqa: BLE001 - reported as a bug, with its traceback
            traceback.print_exc()
            sys.exit(f'error: {type(e).__name__} is a bug in tfgan2, not a problem with your settings or data; '
                     f'please report it with the traceback above.')
    return main_with_one_line_errors


def exit_with(error):
    """Ends the command with the library's one-line `error`, its parameter names (`name=`)
    written as this command's flags (`--name=`)."""
    message = str(error)
    for name in flags.FLAGS:
        message = re.sub(rf'(?<![\w-]){re.escape(name)}=', f'--{name}=', message)
    sys.exit(f'error: {message}')


def warn_if_in_memory(flag):
    """Warns that the path in --`flag` is in this process's memory (ram://), so nothing written
    there outlives the command."""
    from tfgan2 import storage  # Imported here: it loads TensorFlow.
    path = flags.FLAGS[flag].value
    if path and storage.is_in_memory(path):
        std_logging.getLogger('tfgan2').warning(
            '--%s=%s is in this process\'s memory: nothing written there outlives the command. Pass a local or '
            'gs:// path to keep it.', flag, path)
