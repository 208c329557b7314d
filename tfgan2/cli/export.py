"""Exports the generator of a training run as a SavedModel that TensorFlow Serving loads:
EXPORT_BASE/<model_name>/<version>/, written whole or not at all, and rewrites
EXPORT_BASE/models.config, the server's model list (see serving/README.md).

Example:
  tfgan2-export --model_dir=runs/cgan --export_base=exports --model_name=cgan
"""

from absl import flags

from tfgan2 import cli

FLAGS = flags.FLAGS

flags.DEFINE_string('model_dir', None, 'The training run to export (the --model_dir of tfgan2-train).')
flags.DEFINE_string('checkpoint', None, 'A checkpoint of that run to export instead of its latest, '
                    'e.g. runs/cgan/checkpoints/ckpt-400.')
flags.DEFINE_string('export_base', 'exports', 'Folder holding one sub-folder per served model and '
                    'models.config, which lists them for the server (local, gs://...).')
flags.DEFINE_string('model_name', None, 'Name the server will serve it under; defaults to the '
                    'model kind of the run (dcgan, cgan, ...).')
flags.DEFINE_integer('version', None, 'Version number; defaults to one past the highest exported.',
                     lower_bound=1, upper_bound=2**63 - 1)
flags.DEFINE_bool('overwrite', False, 'Replace --version if it already exists.')
# The defaults are export.DEFAULT_MAX_BATCH and export.DEFAULT_SERVER_BASE, written out so that
# --help answers without importing TensorFlow.
flags.DEFINE_integer('max_batch', 1024, 'Most images one request may ask for: the exported model '
                     'refuses larger requests (INVALID_ARGUMENT), which bounds the memory one request '
                     'can take on the server.', lower_bound=1, upper_bound=2**31 - 1)
flags.DEFINE_string('server_base', '/models', 'The export base as the model server sees it, written '
                    'into models.config: /models for the docker command of serving/README.md, or '
                    '--export_base itself for a server on this machine or one reading gs:// directly.')
flags.mark_flag_as_required('model_dir')
flags.register_validator('model_dir', bool, 'pass a training run, e.g. --model_dir=runs/cgan')
flags.register_validator('export_base', bool, 'pass the folder of exports, e.g. --export_base=exports')


def main(argv):
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    from tfgan2 import export, run

    cli.warn_if_in_memory('export_base')
    run_dir = run.RunDir(FLAGS.model_dir)
    # Never older weights than asked for without saying so: a damaged newest checkpoint is refused.
    gan = run_dir.load_gan(FLAGS.checkpoint, fallback=False)
    checkpoint = FLAGS.checkpoint or run_dir.checkpoints()[0]
    path = export.export_generator(gan, FLAGS.export_base, FLAGS.model_name or gan.kind,
                                   FLAGS.version, FLAGS.overwrite, FLAGS.max_batch, FLAGS.server_base)
    print(f'Exported {checkpoint} to {path} (signatures: {", ".join(export.SIGNATURES)}; at most '
          f'{FLAGS.max_batch} images per request)')
    print(f'{export.SERVER_CONFIG} in {FLAGS.export_base} now lists: '
          f'{", ".join(export.exported_models(FLAGS.export_base))}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
