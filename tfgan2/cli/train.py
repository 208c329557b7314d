"""Trains a GAN; rerunning the same command resumes from the latest checkpoint in --model_dir.

Example:
  tfgan2-train --model=dcgan --dataset=fashion_mnist --epochs=5 --model_dir=runs/dcgan
"""

import inspect
import sys

from absl import flags

from tfgan2 import cli

FLAGS = flags.FLAGS

flags.DEFINE_string('model', 'dcgan', 'Which GAN to train (see tfgan2.models.MODELS).')
flags.DEFINE_string('dataset', 'fashion_mnist', 'TFDS name (mnist, fashion_mnist, kmnist, cifar10).')
flags.DEFINE_string('data_dir', None, 'Folder of MNIST-format IDX files to use instead of TFDS.')
flags.DEFINE_string('model_dir', 'runs/default', 'Where checkpoints, grids, GIF and logs go.')
flags.DEFINE_integer('epochs', 5, 'Total epochs to train (a resumed run stops at the same count).',
                     lower_bound=1)
flags.DEFINE_integer('steps_per_epoch', None, 'Cap on steps per epoch, for quick runs.', lower_bound=1)
flags.DEFINE_integer('batch_size', 64, 'Images per step.', lower_bound=1)
flags.DEFINE_float('g_learning_rate', 1e-3, 'Generator Adam learning rate.', lower_bound=0)
flags.DEFINE_float('d_learning_rate', 1e-3, 'Discriminator Adam learning rate.', lower_bound=0)
flags.DEFINE_float('g_beta_1', 0.0, 'Generator Adam beta_1.', lower_bound=0, upper_bound=1)
flags.DEFINE_float('d_beta_1', 0.0, 'Discriminator Adam beta_1.', lower_bound=0, upper_bound=1)
flags.DEFINE_float('beta_2', 0.99, 'Adam beta_2 of both networks.', lower_bound=0, upper_bound=1)
flags.DEFINE_float('ema_decay', 0.99, 'Decay of the moving average of the generator\'s weights that '
                   'previews, evaluation and exports use; 0: use the trained weights.',
                   lower_bound=0, upper_bound=1)
flags.DEFINE_integer('noise_dim', 100, 'Length of the generator noise vector.', lower_bound=1)
flags.DEFINE_list('generator_widths', ['128', '64'],
                  'Generator filters: first at H/4, the last two at H/4 and H/2 before the output.')
flags.DEFINE_list('discriminator_widths', ['64', '128'], 'Discriminator filters, one per stride-2 conv.')
flags.DEFINE_integer('kernel_size', 4, 'Convolution kernel size.', lower_bound=1)
flags.DEFINE_float('dropout', None, 'Dropout rate after each discriminator convolution (model '
                   'default: 0 for acgan and supervised infogan, 0.3 otherwise).',
                   lower_bound=0, upper_bound=0.9)
flags.DEFINE_enum('label_mixing', None, ['multiply', 'concat'],
                  'cgan/acgan/infogan: how the generator mixes the label embedding into the noise '
                  '(model default: multiply).')
flags.DEFINE_enum('fake_labels', None, ['uniform', 'real'],
                  'cgan/acgan/infogan: labels of generated training images, drawn uniformly or '
                  'copied from the real batch (model default: real for cgan, uniform otherwise).')
flags.DEFINE_float('class_loss_weight', None, 'acgan: weight of the class loss (model default: 0.1).',
                   lower_bound=0)
flags.DEFINE_float('fake_class_loss_weight', None,
                   'acgan, supervised infogan: weight of the discriminator\'s class loss on generated '
                   'images (model default: 0, the classifier learns from real images only; 1 in the '
                   'ACGAN paper).', lower_bound=0)
flags.DEFINE_boolean('info_supervised', None,
                     'infogan: use the dataset labels as the categorical code (model default: true).')
flags.DEFINE_integer('info_categories', None,
                     'infogan, unsupervised: values of the categorical code (model default: 10).',
                     lower_bound=2)
flags.DEFINE_float('info_categorical_weight', None,
                   'infogan: weight of the categorical-code information loss (model default: 0.1 '
                   'supervised, 1 unsupervised).',
                   lower_bound=0)
flags.DEFINE_float('info_continuous_weight', None,
                   'infogan: weight of the continuous-code information loss (model default: 1).',
                   lower_bound=0)
flags.DEFINE_integer('checkpoint_every', 200, 'Steps between checkpoints (epoch ends always save).',
                     lower_bound=1)
flags.DEFINE_integer('keep_checkpoints', 3, 'How many checkpoints to keep.', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed for weights, noise, shuffling and the preview grid.')
flags.DEFINE_integer('eval_every', 0, 'Every N epochs, measure sample quality (Frechet distance, classifier '
                     'score, label accuracy, collapsed classes; see tfgan2-evaluate) into history.csv, '
                     'the plot and TensorBoard; 0: never. The first use per dataset trains and caches '
                     'its evaluation classifier (a few minutes).', lower_bound=0)
flags.DEFINE_enum('strategy', 'default', ['default', 'mirrored', 'multi_worker', 'tpu'],
                  'Where to run (tf.distribute): default (one device), mirrored (every local GPU), '
                  'multi_worker (one process per machine, the cluster in TF_CONFIG), tpu (see --tpu). '
                  '--batch_size is the global batch, split across the replicas.')
flags.DEFINE_string('tpu', None, '--strategy=tpu: the TPU name or grpc://host:port; "local" on a TPU VM.')
flags.DEFINE_boolean('mixed_precision', False, 'Compute in float16 (GPUs, with loss scaling) or bfloat16 '
                     '(CPUs, TPUs), keeping weights, losses and outputs in float32.')
flags.DEFINE_boolean('jit_compile', False, 'Compile the training step with XLA (one device; TPUs always do).')
flags.DEFINE_integer('steps_per_execution', 1, 'Training steps per tf.function call; more cut the '
                     'Python overhead between steps.', lower_bound=1)
flags.DEFINE_string('export_dir', None, 'When training ends, export the generator for TF Serving to '
                    'EXPORT_DIR/<model>/<next version> (as tfgan2-export --export_base does).')


# Flags whose default is the model's (some apply to some models only) -> the hyperparameter each
# sets; unset ones keep the model's default, which gan.json then records.
MODEL_FLAGS = {'dropout': 'dropout', 'label_mixing': 'mixing', 'fake_labels': 'fake_labels',
               'class_loss_weight': 'class_weight', 'fake_class_loss_weight': 'fake_class_weight',
               'info_supervised': 'supervised', 'info_categories': 'categories',
               'info_categorical_weight': 'categorical_weight',
               'info_continuous_weight': 'continuous_weight'}


def _model_hyperparameters(model_class):
    """The model-specific flags that were set, as hyperparameters of `model_class`."""
    accepted = inspect.signature(model_class).parameters
    hyperparameters = {}
    for flag, name in MODEL_FLAGS.items():
        value = getattr(FLAGS, flag)
        if value is None:
            continue
        if name not in accepted:
            raise ValueError(f'--{flag} does not apply to --model={FLAGS.model}; drop it.')
        hyperparameters[name] = value
    return hyperparameters


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
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    import keras
    import tensorflow as tf
    from tfgan2 import data, distribute, evaluation, export, models
    from tfgan2.train import NonFiniteLossError, TrainConfig, Trainer

    try:
        if FLAGS.model not in models.MODELS:
            raise ValueError(f'--model={FLAGS.model} is unknown; choose one of {", ".join(sorted(models.MODELS))}.')
        hyperparameters = dict(noise_dim=FLAGS.noise_dim, kernel_size=FLAGS.kernel_size,
                               generator_widths=_widths('generator_widths'),
                               discriminator_widths=_widths('discriminator_widths'),
                               **_model_hyperparameters(models.MODELS[FLAGS.model]))
        # Before other TensorFlow work: multi-worker and TPU strategies set up the runtime.
        strategy = distribute.create_strategy(FLAGS.strategy, FLAGS.tpu)
        dataset = data.load_dataset(FLAGS.dataset, FLAGS.data_dir)
        # Before seeding, so that whether the classifier is trained or cached cannot change the run.
        evaluator = evaluation.Evaluator(FLAGS.dataset, FLAGS.data_dir) if FLAGS.eval_every else None
        tf.keras.utils.set_random_seed(FLAGS.seed)
        if FLAGS.mixed_precision:
            keras.mixed_precision.set_global_policy(distribute.mixed_precision_policy(strategy))
        with strategy.scope():
            gan = models.build_gan(FLAGS.model, dataset.image_shape, dataset.num_classes, **hyperparameters)
        config = TrainConfig(
            model_dir=FLAGS.model_dir, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
            g_learning_rate=FLAGS.g_learning_rate, d_learning_rate=FLAGS.d_learning_rate,
            g_beta_1=FLAGS.g_beta_1, d_beta_1=FLAGS.d_beta_1, beta_2=FLAGS.beta_2,
            ema_decay=FLAGS.ema_decay, seed=FLAGS.seed, steps_per_epoch=FLAGS.steps_per_epoch,
            checkpoint_every=FLAGS.checkpoint_every, keep_checkpoints=FLAGS.keep_checkpoints,
            jit_compile=FLAGS.jit_compile,
            steps_per_execution=FLAGS.steps_per_execution)
        on_epoch_end = evaluation.epoch_hook(evaluator, gan, FLAGS.eval_every) if evaluator else None
        trainer = Trainer(gan, config, strategy)
        trainer.fit(dataset, on_epoch_end)
        if FLAGS.export_dir and trainer.is_chief:
            # Serve from one device in float32, with the moving average if the run kept one: the
            # GAN rebuilt from the checkpoint just written, as tfgan2-export would.
            keras.mixed_precision.set_global_policy('float32')
            gan = models.load_gan(FLAGS.model_dir)
            print(f'Exported the generator to {export.export_generator(gan, FLAGS.export_dir, FLAGS.model)}')
    except (ValueError, data.DataUnavailableError, NonFiniteLossError) as e:
        sys.exit(f'error: {e}')
    print(f'Done: grids, GIF and checkpoints are in {FLAGS.model_dir}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
