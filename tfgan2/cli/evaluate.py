"""Measures a trained generator against real images: Fréchet distance and classifier score (each
beside its real-data value) with its coverage and ambiguity, the class histogram, label accuracy
for conditional models and per-class collapse flags; or, with --metric=inception (the default for
unlabeled data), FID and KID in InceptionV3 features.

Examples:
  tfgan2-evaluate --model_dir=runs/cgan                       # a training run, on its dataset
  tfgan2-evaluate --saved_model=exports/cgan --dataset=fashion_mnist   # latest exported version
  tfgan2-evaluate --model_dir=runs/dcgan --metric=inception --inception_weights=/models/iv3.h5
"""

import logging
import re
import sys

from absl import flags

from tfgan2 import cli

FLAGS = flags.FLAGS

flags.DEFINE_string('model_dir', None, 'A training run to evaluate (the --model_dir of tfgan2-train).')
flags.DEFINE_string('checkpoint', None, 'With --model_dir: a checkpoint to evaluate instead of the '
                    'latest, e.g. runs/cgan/checkpoints/ckpt-400.')
flags.DEFINE_string('saved_model', None, 'An exported generator to evaluate instead: a SavedModel '
                    'folder, or a model folder of numbered versions (the highest is used).')
# A minimal stand-in for the --dataset/--data/--image_size of tfgan2/cli/data_flags.py.
flags.DEFINE_string('dataset', None, 'Dataset to compare against, by name (TFDS, or Debian\'s '
                    'fashion_mnist); defaults to the one the run recorded.')
flags.DEFINE_string('data', None, 'Or a folder of MNIST-format IDX files to compare against.')
flags.DEFINE_integer('image_size', None, 'Resize (and centre-crop) the real images to this size.',
                     lower_bound=1)
flags.DEFINE_enum('metric', None, ['classifier', 'inception'], 'Feature space: classifier (the '
                  'default for labeled data) or inception (FID/KID; the default for unlabeled data).')
flags.DEFINE_string('inception_weights', 'imagenet', 'With --metric=inception: imagenet (the Keras '
                    'cache, downloaded when online) or the path of the weights file.')
flags.DEFINE_integer('num_samples', None, 'Generated images to evaluate; defaults to half the real '
                     'images, the size the real-data figures are measured at.', lower_bound=2)
flags.DEFINE_integer('seed', 0, 'Seed for the generated images.')
flags.DEFINE_string('cache_dir', None, 'Where evaluation classifiers are cached '
                    '(default: $TFGAN2_CACHE, else ~/.cache/tfgan2).')
flags.DEFINE_string('output', None, 'Also write every figure to this JSON file.')


# Until tfgan2/cli/data_flags.py is merged: --data is a folder of IDX files, --dataset a name that
# tfgan2.data.load_dataset knows, and both are turned into ImageData here.
def _name_from_path(path):
    """A valid data name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63}) from a folder's base name."""
    base = re.sub(r'[^A-Za-z0-9_.-]', '_', path.rstrip('/').split('/')[-1])
    return base.lstrip('_.-')[:64] or 'data'


def _image_data(info, name):
    """A `data.ImageData` of uint8 images from a loaded split, resized when --image_size asks."""
    import keras
    import tensorflow as tf
    from tfgan2 import data
    size = FLAGS.image_size

    def to_uint8(image, label):
        pixels = image * 127.5 + 127.5
        if size:
            pixels = keras.layers.Resizing(size, size, crop_to_aspect_ratio=True)(pixels)
        return tf.cast(tf.clip_by_value(tf.round(pixels), 0, 255), tf.uint8), label

    shape = (size, size, info.image_shape[-1]) if size else info.image_shape
    return data.ImageData(name, info.source, info.dataset.map(to_uint8), shape, info.num_examples,
                          info.num_classes, tuple(info.class_names))


def _check_flags():
    """Refuses flag combinations that cannot work, before TensorFlow loads."""
    if bool(FLAGS.model_dir) == bool(FLAGS.saved_model):
        raise ValueError('Pass exactly one of --model_dir (a training run) or --saved_model (an export).')
    if FLAGS.data and FLAGS.dataset:
        raise ValueError('Pass one of --dataset (a dataset name) or --data (a folder), not both.')
    if FLAGS.saved_model and not (FLAGS.data or FLAGS.dataset):
        raise ValueError('--saved_model needs --dataset or --data (the data the generator was '
                         'trained on, e.g. --dataset=fashion_mnist).')


def _load_data(recorded_name):
    """(data, test or None) from --data or --dataset, else from the dataset the run recorded."""
    from tfgan2 import data
    name = _name_from_path(FLAGS.data) if FLAGS.data else FLAGS.dataset or recorded_name
    train = _image_data(data.load_dataset(name, FLAGS.data, 'train'), name)
    try:
        return train, _image_data(data.load_dataset(name, FLAGS.data, 'test'), name)
    except data.DataUnavailableError:  # No test split: the evaluator holds out part of train.
        return train, None


def _with_flag_names(message):
    """Library errors name parameters (`metric=`); here they are flags (`--metric=`)."""
    return re.sub(r'(?<![\w-])(\w+)=', lambda m: f'--{m[1]}=' if m[1] in FLAGS else m[0], message)


def main(argv):
    try:
        _check_flags()
    except ValueError as e:
        sys.exit(f'error: {e}')
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    import tensorflow as tf
    from tfgan2 import data, evaluation, models

    logging.getLogger('tfgan2').setLevel(logging.INFO)  # Say when a classifier is trained.
    try:
        if FLAGS.saved_model:
            train, test = _load_data(recorded_name=None)
            generate, class_conditional = evaluation.saved_model_sampler(FLAGS.saved_model, FLAGS.seed)
            source = FLAGS.saved_model
        else:
            gan = models.load_gan(FLAGS.model_dir, FLAGS.checkpoint)
            train, test = _load_data(None if FLAGS.data or FLAGS.dataset
                                    else evaluation.run_dataset(FLAGS.model_dir))
            generate = evaluation.gan_sampler(gan, FLAGS.seed)
            class_conditional = evaluation.draws_requested_classes(gan)
            source = FLAGS.model_dir
        evaluator = evaluation.Evaluator(train, test, FLAGS.num_samples, FLAGS.metric, FLAGS.cache_dir,
                                         inception_weights=FLAGS.inception_weights)
        result = evaluator.evaluate(generate, class_conditional)
    except (ValueError, data.DataUnavailableError) as e:
        sys.exit(f'error: {_with_flag_names(str(e))}')
    except tf.errors.NotFoundError as e:  # A --checkpoint that does not exist.
        sys.exit(f'error: {e.message}')
    except tf.errors.InvalidArgumentError as e:  # An export asked for labels it does not have.
        sys.exit(f'error: the generator rejected its inputs ({e.message.splitlines()[0]}); is '
                 f'the data the one it was trained on?')
    print(f'{source} on {train.source}:')
    print(result.report())
    if FLAGS.output:
        try:
            result.save_json(FLAGS.output)
        except tf.errors.OpError as e:
            sys.exit(f'error: could not write --output={FLAGS.output} ({e.message.splitlines()[0]}).')
        print(f'Wrote {FLAGS.output}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
