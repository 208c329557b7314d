"""absl command-line entry points; each is a thin shell over the library."""

import sys

from absl import app, flags


def run(main, module_name):
    """Runs an absl `main` so that `--help` lists the flags of `module_name`, however the command
    was started (console script, scripts/ shim or `python -m`): absl shows the key flags of the
    module named by sys.argv[0], which for a console script is the generated wrapper."""
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main)
