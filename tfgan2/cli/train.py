"""Trains a GAN; rerunning the same command resumes from the latest checkpoint in --model_dir.

Example:
  tfgan2-train --model=dcgan --dataset=fashion_mnist --epochs=5 --model_dir=runs/dcgan
"""

import os
import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS

flags.DEFINE_string('model', 'dcgan', 'Which GAN to train (see tfgan2.models.MODELS).')
flags.DEFINE_string('dataset', 'fashion_mnist', 'TFDS name (mnist, fashion_mnist, kmnist, cifar10).')
flags.DEFINE_string('data_dir', None, 'Folder of MNIST-format IDX files to use instead of TFDS.')
flags.DEFINE_string('model_dir', 'runs/default', 'Where checkpoints, grids, GIF and logs go.')
flags.DEFINE_integer('epochs', 5, 'Total epochs to train (a resumed run stops at the same count).',
                     lower_bound=1)
flags.DEFINE_integer('steps_per_epoch', None, 'Cap on steps per epoch, for quick runs.', lower_bound=1)
flags.DEFINE_integer('batch_size', 64, 'Images per step.', lower_bound=1)
flags.DEFINE_float('g_learning_rate', 2e-4, 'Generator Adam learning rate.', lower_bound=0)
flags.DEFINE_float('d_learning_rate', 2e-4, 'Discriminator Adam learning rate.', lower_bound=0)
flags.DEFINE_float('g_beta_1', 0.5, 'Generator Adam beta_1.', lower_bound=0, upper_bound=1)
flags.DEFINE_float('d_beta_1', 0.5, 'Discriminator Adam beta_1.', lower_bound=0, upper_bound=1)
flags.DEFINE_integer('noise_dim', 100, 'Length of the generator noise vector.', lower_bound=1)
flags.DEFINE_list('generator_widths', ['128', '64'],
                  'Generator filters: first at H/4, the last two at H/4 and H/2 before the output.')
flags.DEFINE_list('discriminator_widths', ['64', '128'], 'Discriminator filters, one per stride-2 conv.')
flags.DEFINE_integer('kernel_size', 4, 'Convolution kernel size.', lower_bound=1)
flags.DEFINE_integer('checkpoint_every', 200, 'Steps between checkpoints (epoch ends always save).',
                     lower_bound=1)
flags.DEFINE_integer('keep_checkpoints', 3, 'How many checkpoints to keep.', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed for weights, noise, shuffling and the preview grid.')


def _widths(name):
    values = getattr(FLAGS, name)
    try:
        widths = tuple(int(v) for v in values)
    except ValueError:
        widths = ()
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f'--{name}={",".join(values)}: give at least two positive integers, e.g. 128,64.')
    return widths


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
    if not FLAGS['verbosity'].present:
        logging.set_verbosity(logging.WARNING)  # Keep TF's per-save INFO lines out of the progress bar.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    import tensorflow as tf
    from tfgan2 import data, models
    from tfgan2.train import NonFiniteLossError, TrainConfig, Trainer

    try:
        if FLAGS.model not in models.MODELS:
            raise ValueError(f'--model={FLAGS.model} is unknown; choose one of {", ".join(sorted(models.MODELS))}.')
        hyperparameters = dict(noise_dim=FLAGS.noise_dim, kernel_size=FLAGS.kernel_size,
                               generator_widths=_widths('generator_widths'),
                               discriminator_widths=_widths('discriminator_widths'))
        dataset = data.load_dataset(FLAGS.dataset, FLAGS.data_dir)
        tf.keras.utils.set_random_seed(FLAGS.seed)
        gan = models.build_gan(FLAGS.model, dataset.image_shape, dataset.num_classes, **hyperparameters)
        config = TrainConfig(
            model_dir=FLAGS.model_dir, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
            g_learning_rate=FLAGS.g_learning_rate, d_learning_rate=FLAGS.d_learning_rate,
            g_beta_1=FLAGS.g_beta_1, d_beta_1=FLAGS.d_beta_1, seed=FLAGS.seed,
            steps_per_epoch=FLAGS.steps_per_epoch, checkpoint_every=FLAGS.checkpoint_every,
            keep_checkpoints=FLAGS.keep_checkpoints)
        Trainer(gan, config).fit(dataset)
    except (ValueError, data.DataUnavailableError, NonFiniteLossError) as e:
        sys.exit(f'error: {e}')
    print(f'Done: grids, GIF and checkpoints are in {FLAGS.model_dir}')


def run():
    app.run(main)


if __name__ == '__main__':
    run()
