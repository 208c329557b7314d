"""Measures a trained generator against real images: Fréchet distance and classifier score (each
beside its real-data value) with its coverage and ambiguity, the class histogram, label accuracy
for conditional models and per-class collapse flags; or, with --metric=inception (the default for
unlabeled data), FID and KID in InceptionV3 features.

Examples:
  tfgan2-evaluate --model_dir=runs/cgan                       # a training run, on its dataset
  tfgan2-evaluate --saved_model=exports/cgan --dataset=fashion_mnist   # latest exported version
  tfgan2-evaluate --model_dir=runs/mine --data=my_images/ --metric=inception --inception_weights=/models/iv3.h5
"""

import sys

from absl import flags

from tfgan2 import cli, errors
from tfgan2.cli import data_flags

FLAGS = flags.FLAGS

flags.DEFINE_string('model_dir', None, 'A training run to evaluate (the --model_dir of tfgan2-train).')
flags.DEFINE_string('checkpoint', None, 'With --model_dir: a checkpoint to evaluate instead of the '
                    'newest, e.g. runs/cgan/checkpoints/ckpt-400.')
flags.DEFINE_string('saved_model', None, 'An exported generator to evaluate instead: a SavedModel '
                    'folder, or a model folder of numbered versions (the highest is used).')
flags.DEFINE_enum('metric', None, ['classifier', 'inception'], 'Feature space: classifier (the '
                  'default for labeled data) or inception (FID/KID; the default for unlabeled data).')
flags.DEFINE_string('inception_weights', 'imagenet', 'With --metric=inception: imagenet (the Keras '
                    'cache, downloaded when online) or the path of the weights file.')
flags.DEFINE_integer('num_samples', None, 'Generated images to evaluate; defaults to half the real '
                     'images, the size the real-data figures are measured at.', lower_bound=2,
                     upper_bound=1_000_000)
flags.DEFINE_integer('seed', 0, 'Seed for the generated images.', lower_bound=0, upper_bound=2**31 - 1)
flags.DEFINE_string('cache_dir', None, 'Where evaluation classifiers are cached '
                    '(default: $TFGAN2_CACHE, else ~/.cache/tfgan2).')
flags.DEFINE_string('output', None, 'Also write every figure to this JSON file.')
flags.register_validator('output', lambda path: path is None or bool(path), 'pass a file, e.g. --output=figures.json')
flags.adopt_module_key_flags(data_flags)


def _check_flags():
    """Refuses flag combinations that cannot work, before TensorFlow loads."""
    if bool(FLAGS.model_dir) == bool(FLAGS.saved_model):
        raise errors.ConfigError('Pass exactly one of --model_dir (a training run) or --saved_model (an export).')
    if FLAGS.saved_model and not (FLAGS.data or FLAGS['dataset'].present):
        raise errors.ConfigError('--saved_model needs --dataset or --data (the data the generator was '
                                 'trained on, e.g. --dataset=fashion_mnist).')


def _recorded_source(record):
    """What to load for the data a run recorded: a dataset by its (checked) name; a path is only
    ever taken from the command line, never from the run's files."""
    from tfgan2 import data
    recorded = record['data']
    if recorded['source'].startswith('tfds:') or recorded['name'] in data.DEBIAN_DATA_DIRS:
        return f'tfds:{recorded["name"]}'
    raise errors.ConfigError(f'The run trained on {recorded["source"]}; pass those images with --data to '
                             f'evaluate against them.')


def main(argv):
    _check_flags()
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    import tensorflow as tf

    from tfgan2 import evaluation, run

    try:
        if FLAGS.saved_model:
            train, test = data_flags.load_from_flags(), data_flags.load_test_from_flags()
            generate, class_conditional = evaluation.saved_model_sampler(FLAGS.saved_model, FLAGS.seed)
            source = FLAGS.saved_model
        else:
            run_dir = run.RunDir(FLAGS.model_dir)
            record = run_dir.read_record()
            recorded = None if FLAGS.data or FLAGS['dataset'].present else _recorded_source(record)
            train = data_flags.load_from_flags('train', recorded)
            test = data_flags.load_test_from_flags(recorded)
            gan = run_dir.load_gan(FLAGS.checkpoint)
            generate = evaluation.gan_sampler(gan, FLAGS.seed)
            class_conditional, source = gan.draws_dataset_classes, FLAGS.model_dir
        evaluator = evaluation.Evaluator(train, test, FLAGS.num_samples, FLAGS.metric, FLAGS.cache_dir,
                                         inception_weights=FLAGS.inception_weights)
        result = evaluator.evaluate(generate, class_conditional)
    except tf.errors.InvalidArgumentError as e:  # An export asked for labels it does not have.
        sys.exit(f'error: the generator rejected its inputs ({e.message.splitlines()[0]}); is '
                 f'the data the one it was trained on?')
    print(f'{source} on {train.source}:')
    print(result.report())
    if FLAGS.output:
        result.save_json(FLAGS.output)
        print(f'Wrote {FLAGS.output}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
