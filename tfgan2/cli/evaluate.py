"""Measures a trained generator: Fréchet distance and classifier score (each beside its real-data
value), label accuracy for conditional models, and per-class collapse flags.

Examples:
  tfgan2-evaluate --model_dir=runs/cgan                  # a training run, latest checkpoint
  tfgan2-evaluate --saved_model=exports/cgan --dataset=fashion_mnist   # latest exported version
"""

import sys

from absl import flags

from tfgan2 import cli

FLAGS = flags.FLAGS

flags.DEFINE_string('model_dir', None, 'A training run to evaluate (the --model_dir of tfgan2-train).')
flags.DEFINE_string('checkpoint', None, 'With --model_dir: a checkpoint to evaluate instead of the '
                    'latest, e.g. runs/cgan/checkpoints/ckpt-400.')
flags.DEFINE_string('saved_model', None, 'An exported generator to evaluate instead: a SavedModel '
                    'folder, or a model folder of numbered versions (the highest is used).')
flags.DEFINE_string('dataset', None, 'Dataset to compare against; defaults to the one the run was '
                    'trained on (required with --saved_model).')
flags.DEFINE_string('data_dir', None, 'Folder of MNIST-format IDX files to use instead of TFDS.')
flags.DEFINE_integer('num_samples', None, 'Generated images to evaluate; defaults to half the test '
                     'split, the size the real-data figures are measured at.', lower_bound=2)
flags.DEFINE_integer('seed', 0, 'Seed for the generated images.')
flags.DEFINE_string('cache_dir', None, 'Where evaluation classifiers are cached '
                    '(default: $TFGAN2_CACHE, else ~/.cache/tfgan2).')
flags.DEFINE_string('output', None, 'Also write every figure to this JSON file.')


def main(argv):
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    import tensorflow as tf
    from tfgan2 import data, evaluation, models

    try:
        if bool(FLAGS.model_dir) == bool(FLAGS.saved_model):
            raise ValueError('Pass exactly one of --model_dir (a training run) or --saved_model '
                             '(an export).')
        if FLAGS.saved_model:
            if not FLAGS.dataset:
                raise ValueError('--saved_model needs --dataset (the dataset the generator was '
                                 'trained on, e.g. fashion_mnist).')
            generate, class_conditional = evaluation.saved_model_sampler(FLAGS.saved_model, FLAGS.seed)
            dataset, source = FLAGS.dataset, FLAGS.saved_model
        else:
            gan = models.load_gan(FLAGS.model_dir, FLAGS.checkpoint)
            generate = evaluation.gan_sampler(gan, FLAGS.seed)
            class_conditional = evaluation.draws_requested_classes(gan)
            dataset, source = FLAGS.dataset or evaluation.run_dataset(FLAGS.model_dir), FLAGS.model_dir
        evaluator = evaluation.Evaluator(dataset, FLAGS.data_dir, FLAGS.num_samples, FLAGS.cache_dir)
        result = evaluator.evaluate(generate, class_conditional)
    except (ValueError, data.DataUnavailableError) as e:
        sys.exit(f'error: {e}')
    except tf.errors.NotFoundError as e:  # A --checkpoint that does not exist.
        sys.exit(f'error: {e.message}')
    except tf.errors.InvalidArgumentError as e:  # An export asked for labels it does not have.
        sys.exit(f'error: the generator rejected its inputs ({e.message.splitlines()[0]}); is '
                 f'--dataset the one it was trained on?')
    print(f'{source} on {dataset}:')
    print(result.report())
    if FLAGS.output:
        result.save_json(FLAGS.output)
        print(f'Wrote {FLAGS.output}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
