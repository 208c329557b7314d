"""Data flags (temporary stand-in until the own-data work lands)."""

from absl import flags

flags.DEFINE_string('dataset', 'fashion_mnist', 'TFDS name.')
flags.DEFINE_string('data', None, 'Folder of MNIST-format IDX files.')

FLAGS = flags.FLAGS


def load_from_flags(split='train'):
    from tfgan2 import data
    return data.load_dataset(FLAGS.dataset, FLAGS.data, split)
