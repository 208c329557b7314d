"""absl command-line entry points; each is a thin shell over the library."""

import logging as std_logging
import os
import re
import sys

from absl import app, flags, logging

# Before any command imports TensorFlow: its C++ INFO lines (oneDNN, CPU features) stay quiet.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def run(main, module_name):
    """Runs an absl `main` the way every tfgan2 command runs: stray arguments refused, TF's
    INFO chatter off unless --verbosity is given, tfgan2's own messages on stderr, a ValueError
    (the library's errors) as one line naming flags, and `--help` listing the flags of
    `module_name` however the command was started (absl shows the key flags of the module
    named by sys.argv[0], which for a console script is its wrapper)."""
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

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


def with_one_line_errors(main):
    """`main`, whose ValueErrors (the library's errors) end the command in one line (`exit_with`)."""
    def main_with_one_line_errors(argv):
        try:
            return main(argv)
        except ValueError as e:
            exit_with(e)
    return main_with_one_line_errors


def exit_with(error):
    """Ends the command with the library's one-line `error`, its parameter names (`name=`)
    written as this command's flags (`--name=`)."""
    message = str(error)
    for name in flags.FLAGS:
        message = re.sub(rf'(?<![\w-]){re.escape(name)}=', f'--{name}=', message)
    sys.exit(f'error: {message}')
