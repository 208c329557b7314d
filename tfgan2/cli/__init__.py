"""absl command-line entry points; each is a thin shell over the library."""

import os
import sys

from absl import app, flags, logging


def run(main, module_name):
    """Runs an absl `main` the way every tfgan2 command runs: stray arguments refused, TF's
    INFO chatter off unless --verbosity is given, and `--help` listing the flags of
    `module_name` however the command was started (absl shows the key flags of the module
    named by sys.argv[0], which for a console script is the generated wrapper)."""
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

    def quiet_main(argv):
        if len(argv) > 1:
            raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
        if not flags.FLAGS['verbosity'].present:
            logging.set_verbosity(logging.WARNING)  # Keep TF's per-save INFO lines out of the progress bar.
        os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        return main(argv)

    app.run(quiet_main)
