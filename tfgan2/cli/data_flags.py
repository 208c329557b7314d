"""Flags that say which images tfgan2-train and tfgan2-evaluate read; a command lists them in its
--help with `flags.adopt_module_key_flags(data_flags)`. TensorFlow is imported only on loading."""

from absl import flags

from tfgan2 import errors

FLAGS = flags.FLAGS

flags.DEFINE_string('dataset', 'fashion_mnist',
                    'A TFDS dataset name (mnist, cifar10, celeb_a, tf_flowers, ...: '
                    'tensorflow.org/datasets/catalog). fashion_mnist is read offline from Debian\'s '
                    'dataset-fashion-mnist package when it is installed.')
flags.DEFINE_string('data', None,
                    'Your own images instead of --dataset: a folder of images (class subfolders give '
                    'labels, a flat folder is unlabeled, train/ and test/ subfolders are splits), an '
                    '.npz/.npy file of arrays, or a folder of MNIST-format IDX files. Local or gs://.')
flags.DEFINE_string('image_size', None,
                    'Resize and centre-crop every image to this size: 64 (square) or HxW such as 64x48. '
                    'Needed for datasets whose images vary in size.')
flags.DEFINE_string('background', 'white', 'The colour transparent pixels of images with alpha (PNG icons, '
                    'say) are composited onto: white, black or #rrggbb.')
flags.DEFINE_integer('memory_budget_mb', 2048,
                     'Images up to this many MB (as 8-bit pixels) are held in memory; a larger folder is '
                     'read file by file each epoch, a larger TFDS dataset streams.', lower_bound=0)


def load_from_flags(split='train', default_source=None, default_image_size=None):
    """The ImageData that --data or --dataset name (or, when neither is given, `default_source`),
    for `split`, sized by --image_size, else by `default_image_size`."""
    from tfgan2 import data  # Imported here: it loads TensorFlow.
    if FLAGS.data and FLAGS['dataset'].present:
        raise errors.ConfigError(f'--data={FLAGS.data} and --dataset={FLAGS.dataset} both name the images; '
                                 f'pass one of them.')
    if FLAGS.data:
        source = FLAGS.data
    elif default_source and not FLAGS['dataset'].present:
        source = default_source
    else:
        source = f'tfds:{FLAGS.dataset}'
    return data.load(source, split=split, image_size=FLAGS.image_size or default_image_size,
                     memory_budget_mb=FLAGS.memory_budget_mb, background=FLAGS.background)


def load_test_from_flags(default_source=None, default_image_size=None):
    """The test split of the same images, or None when they have none (evaluation then holds out
    part of the training images)."""
    from tfgan2 import data
    try:
        return load_from_flags('test', default_source, default_image_size)
    except data.DataUnavailableError:
        return None
