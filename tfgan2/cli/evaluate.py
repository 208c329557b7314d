"""Measures a trained generator against real images, each figure beside its real-data value.
Labeled data: Fréchet distance and classifier score with its coverage and ambiguity, the class
histogram, label accuracy for conditional models and per-class collapse flags, in the features of
a classifier trained on the data. Any data, offline (the headline for unlabeled data, beside the
classifier's or Inception's figures otherwise): Fréchet and kernel distances, each beside its
real-vs-real floor and the floor's spread over re-splits, precision/recall, density/coverage and
the share of near-copies of training images (flagging a generator that memorises), in the
features of an encoder trained on the data without labels (a few CPU-minutes on first use, then
cached; nothing is downloaded). InfoGAN runs: how well a fresh regressor reads each continuous
code back from the images (R², beside a shuffled-code control). With --metric=inception, FID
and KID in InceptionV3 features (weights on disk or downloadable).

Examples:
  tfgan2-evaluate --model_dir=runs/cgan                       # a training run, on its dataset
  tfgan2-evaluate --saved_model=exports/cgan --dataset=fashion_mnist   # latest exported version
  tfgan2-evaluate --model_dir=runs/photos                     # the unlabeled folder it trained on, offline
  tfgan2-evaluate --model_dir=runs/mine --metric=inception --inception_weights=/models/iv3.h5
"""

import os
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
flags.DEFINE_enum('metric', None, ['classifier', 'selfsupervised', 'inception'], 'Feature space of the '
                  'Fréchet (and kernel) distance: classifier (the default for labeled data), selfsupervised '
                  '(an encoder trained on the data without labels; the default for unlabeled data) or '
                  'inception (FID/KID in InceptionV3 features; needs its ImageNet weights).')
flags.DEFINE_boolean('selfsupervised', True, 'Also measure in the self-supervised encoder\'s features '
                     '(precision/recall, density/coverage, near-copies of training images; its Fréchet and '
                     'kernel distances beside the classifier\'s or Inception\'s). The first use per dataset '
                     'trains and caches the encoder (a few CPU-minutes).')
flags.DEFINE_integer('code_samples', 10000, 'InfoGAN: generated images the code regressors train on (their '
                     'R² is measured on a fifth as many new ones).', lower_bound=10,
                     upper_bound=1_000_000)
flags.DEFINE_string('inception_weights', 'imagenet', 'With --metric=inception: imagenet (the Keras '
                    'cache, downloaded when online) or the path of the weights file.')
flags.DEFINE_integer('num_samples', None, 'Generated images to evaluate; defaults to half the real '
                     'images, the size the real-data figures are measured at.', lower_bound=2,
                     upper_bound=1_000_000)
flags.DEFINE_integer('seed', 0, 'Seed for the generated images.', lower_bound=0, upper_bound=2**31 - 1)
flags.DEFINE_string('cache_dir', None, 'Where evaluation classifiers and encoders are cached '
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


# The sources a run records by path (see tfgan2.data), and whether each is a folder.
_PATH_SOURCES = {'folder': True, 'idx': True, 'npz': False, 'npy': False}
# What must match between the data at a recorded path and the run's record of it.
_RECORDED_FIELDS = ('source', 'name', 'image_shape', 'num_classes', 'class_names', 'num_examples')


def _recorded_source(record):
    """What to load when the command names no data: a dataset by its (checked) name, or the file
    or folder the run recorded while it is still one (and `_check_recorded` then finds in it
    the images the run trained on). The record is data from disk, so a path in it is only read,
    never written or made part of another path."""
    from tfgan2 import data
    recorded = record['data']
    kind, _, path = recorded['source'].partition(':')
    if kind == 'tfds' or recorded['name'] in data.DEBIAN_DATA_DIRS:
        return f'tfds:{recorded["name"]}'
    if kind not in _PATH_SOURCES:
        raise errors.ConfigError(f'The run trained on images passed in Python ({recorded["source"]}); pass '
                                 f'them with --data to evaluate against them.')
    if not _is_entry(path, folder=_PATH_SOURCES[kind]):
        raise errors.ConfigError(f'The run trained on {path}, which is not there any more; pass those images '
                                 f'with --data to evaluate against them.')
    parent = os.path.dirname(path)
    if kind == 'folder' and os.path.basename(path) == 'train' and _is_entry(os.path.join(parent, 'test'), True):
        path = parent  # split folders: the parent serves the test split too
    return path


def _is_entry(path, folder):
    """Whether `path` is absolute (or a URL) and names a folder, or a regular file."""
    import tensorflow as tf
    if '://' in path:
        return tf.io.gfile.isdir(path) if folder else tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)
    return os.path.isabs(path) and (os.path.isdir(path) if folder else os.path.isfile(path))


def _check_recorded(train, record):
    """Refuses data from the recorded path that is not what the run recorded training on."""
    from tfgan2 import run
    found, recorded = run.data_record(train), record['data']
    differences = [f'{key} {found[key]} (recorded: {recorded[key]})' for key in _RECORDED_FIELDS
                   if found[key] != recorded[key]]
    if differences:
        raise errors.ConfigError(f'{recorded["source"]} no longer holds the images the run trained on '
                                 f'({"; ".join(differences)}); pass those images with --data.')


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
            image_size = tuple(record['data']['image_shape'][:2])  # the size the generator draws
            train = data_flags.load_from_flags('train', recorded, image_size)
            if recorded and not recorded.startswith('tfds:'):
                _check_recorded(train, record)
            test = data_flags.load_test_from_flags(recorded, image_size)
            gan, source = run_dir.load_gan(FLAGS.checkpoint), FLAGS.model_dir
        code_config = evaluation.CodeConfig(train_samples=FLAGS.code_samples,
                                            test_samples=max(FLAGS.code_samples // 5, 2))
        evaluator = evaluation.Evaluator(train, test, FLAGS.num_samples, FLAGS.metric, FLAGS.cache_dir,
                                         inception_weights=FLAGS.inception_weights,
                                         selfsupervised=FLAGS.selfsupervised, code_config=code_config)
        result = (evaluator.evaluate(generate, class_conditional) if FLAGS.saved_model
                  else evaluator.evaluate_gan(gan, FLAGS.seed))
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
