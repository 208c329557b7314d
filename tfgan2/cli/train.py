"""Trains a GAN; rerunning the same command resumes from the newest checkpoint in --model_dir.

Example:
  tfgan2-train --model=dcgan --dataset=fashion_mnist --epochs=5 --model_dir=runs/dcgan
"""

import dataclasses

from absl import flags

from tfgan2 import cli, models, recipes
from tfgan2.cli import data_flags, derived_flags
from tfgan2.training.config import TrainConfig

FLAGS = flags.FLAGS

flags.DEFINE_enum('model', 'selfcond', list(models.MODELS), 'Which GAN to train: selfcond (unconditional, '
                  'the best measured without labels), dcgan (the TF tutorial\'s), or cgan, acgan, infogan '
                  '(conditional).')
flags.DEFINE_enum('recipe', None, list(recipes.RECIPES), 'A known GAN variant\'s loss, penalty and update '
                  'schedule, for any --model: ' + '; '.join(f'{name}: {recipe.summary}' for name, recipe in
                                                            recipes.RECIPES.items()) + '. Flags given '
                  'explicitly override its settings.')
flags.DEFINE_string('model_dir', 'runs/default', 'The run folder: checkpoints, grids, GIF, history and '
                    'logs (local, gs:// or another tf.io.gfile filesystem).')
flags.register_validator('model_dir', bool, 'pass the run folder, e.g. --model_dir=runs/mine')
flags.DEFINE_integer('epochs', 5, 'Train until this many epochs are complete (a rerun resumes and '
                     'stops at the same count; raise it to train more).', lower_bound=1)
flags.DEFINE_integer('eval_every', 0, 'Every N epochs, measure sample quality (see tfgan2-evaluate) into '
                     'history.csv, the plot and TensorBoard; 0: never. The first use per dataset trains '
                     'and caches its evaluation networks (a classifier for labeled data, a self-supervised '
                     'encoder for any data; a few CPU-minutes each).', lower_bound=0)
flags.DEFINE_enum('strategy', 'default', ['default', 'mirrored', 'multi_worker', 'tpu'],
                  'Where to run (tf.distribute): default (one device), mirrored (every local GPU), '
                  'multi_worker (one process per machine, the cluster in TF_CONFIG), tpu (see --tpu). '
                  '--batch_size is the global batch, split across the replicas.')
flags.DEFINE_string('tpu', None, '--strategy=tpu: the TPU name or grpc://host:port; "local" on a TPU VM.')
flags.DEFINE_boolean('mixed_precision', False, 'Compute in float16 (GPUs, with loss scaling) or bfloat16 '
                     '(CPUs, TPUs), keeping weights, losses and outputs in float32.')
flags.DEFINE_string('export_dir', None, 'When training ends, export the generator for TF Serving to '
                    'EXPORT_DIR/<model>/<next version> (as tfgan2-export --export_base does).')
CONFIG_FLAGS = derived_flags.define_config_flags(TrainConfig, exclude=('verbose',))
HYPERPARAMETER_FLAGS = derived_flags.define_hyperparameter_flags(models.MODELS.values())
for _name in CONFIG_FLAGS + HYPERPARAMETER_FLAGS:
    flags.declare_key_flag(_name)
flags.adopt_module_key_flags(data_flags)


def main(argv):
    import keras

    from tfgan2 import distribute, run
    from tfgan2.training import loop

    try:
        model_class = models.model_class(FLAGS.model)
        hyperparameters = derived_flags.hyperparameters_from_flags(model_class, HYPERPARAMETER_FLAGS)
        config = derived_flags.config_from_flags(TrainConfig, exclude=('verbose',))
        if FLAGS.recipe:
            recipe = recipes.RECIPES[FLAGS.recipe]
            hyperparameters = {**recipe.hyperparameters, **hyperparameters}
            config = dataclasses.replace(config, **{name: value for name, value in recipe.config.items()
                                                    if not FLAGS[name].present})
        # Before other TensorFlow work: multi-worker and TPU strategies set up the runtime.
        strategy = distribute.create_strategy(FLAGS.strategy, FLAGS.tpu)
        train_data = data_flags.load_from_flags()
        run.check_settings(FLAGS.model, {'image_shape': train_data.image_shape,
                                         'num_classes': train_data.num_classes, **hyperparameters})
        cli.warn_if_in_memory('model_dir')
        cli.warn_if_in_memory('export_dir')
        callbacks = []
        if FLAGS.eval_every:
            from tfgan2 import evaluation
            # Before seeding, so whether the classifier is trained or cached cannot change the run.
            evaluator = evaluation.Evaluator(train_data, data_flags.load_test_from_flags())
            callbacks.append(evaluation.EvaluationCallback(evaluator, FLAGS.eval_every))
        keras.utils.set_random_seed(config.seed)
        if FLAGS.mixed_precision:
            keras.mixed_precision.set_global_policy(distribute.mixed_precision_policy(strategy))
        with strategy.scope():
            gan = models.build_gan(FLAGS.model, train_data, **hyperparameters)
        trainer = loop.Trainer(gan, FLAGS.model_dir, config, strategy)
        trainer.fit(train_data, FLAGS.epochs, callbacks=callbacks)
        if FLAGS.export_dir and trainer.is_chief:
            from tfgan2 import export
            # Serve from one device in float32: the GAN rebuilt from the checkpoint just written.
            keras.mixed_precision.set_global_policy('float32')
            path = export.export_generator(run.RunDir(FLAGS.model_dir).load_gan(fallback=False), FLAGS.export_dir,
                                           FLAGS.model)
            print(f'Exported the generator to {path}')
    except loop.TrainingInterrupted as e:
        raise SystemExit(f'stopped: {e}') from None
    print(f'Done: grids, GIF and checkpoints are in {FLAGS.model_dir}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
