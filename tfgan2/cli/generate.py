"""Draws images from an exported generator (a SavedModel from tfgan2-export), no server needed,
through the same signatures TF Serving would call, and saves them as one grid PNG.

A SavedModel is a program: loading it and calling a signature runs whatever ops it holds (file
writes included). Only point --saved_model at exports you trust.

Example:
  tfgan2-generate --saved_model=exports/cgan --label=0,1,2 --num=8 --seed=3 --out=cgan.png
"""

import sys

from absl import flags

from tfgan2 import cli, errors
from tfgan2.cli import sample_flags

FLAGS = flags.FLAGS

flags.DEFINE_string('saved_model', None, 'An export: EXPORT_BASE/<model_name> (its highest version '
                    'is used, as TF Serving would) or one version folder EXPORT_BASE/<model_name>/<N>.')
flags.mark_flag_as_required('saved_model')
flags.register_validator('saved_model', bool, 'pass an export, e.g. --saved_model=exports/cgan')
flags.adopt_module_key_flags(sample_flags)


def main(argv):
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    import tensorflow as tf

    from tfgan2 import export, serving

    cli.warn_if_in_memory('out')
    try:
        path = export.resolve_saved_model(FLAGS.saved_model)
        loaded = export.load_saved_model(path)  # Held while calling: it owns the variables.
        if FLAGS.signature not in loaded.signatures:
            raise errors.ConfigError(f'{path} has no signature {FLAGS.signature!r}; it has '
                                     f'{", ".join(sorted(loaded.signatures))}.')
        images, rows = serving.generate(loaded.signatures[FLAGS.signature], FLAGS.label, FLAGS.num,
                                        FLAGS.seed)
        serving.save_grid(images, rows, FLAGS.out)
    except tf.errors.InvalidArgumentError as e:
        sys.exit(f'error: the model rejected the request: {serving.error_summary(e.message)}')
    print(f'Wrote {len(images)} images from {path} ({FLAGS.signature}) to {FLAGS.out}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
