"""Time to quality: every model in tfgan2.models.MODELS, plus the TF DCGAN tutorial's recipe,
trained from scratch on Fashion-MNIST for the same CPU budget, then evaluated by tfgan2.evaluation.

The budget is this process's CPU time (all threads) spent in training, so rows run at different
moments on a shared machine get the same compute; evaluation is not counted. Our models train
with their defaults (TrainConfig: batch 64, Adam 1e-3, beta_1 0, beta_2 0.99); the tutorial
with its own.

  .venv/bin/python benchmarks/time_to_quality.py --budget_minutes=8
"""

import os
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_float('budget_minutes', 8.0, 'CPU minutes (process time, all threads) of training per row.',
                   lower_bound=0.01)
flags.DEFINE_list('rows', None, 'Rows to run (model names and/or "tutorial"); default: all.')
flags.DEFINE_integer('num_samples', None, 'Generated images per evaluation; default half the test split.')
flags.DEFINE_integer('seed', 0, 'Seed for weights, noise and batch order.')
flags.DEFINE_float('ema_decay', None, 'Decay of the generator\'s moving average that our rows are '
                   'evaluated through; 0: the trained weights. Default: TrainConfig\'s.')
flags.DEFINE_boolean('paper_adam', False, 'After each of our models, add a row training it with the DCGAN '
                     'paper\'s Adam (lr 2e-4, beta_1 0.5, beta_2 0.999), the baseline of our optimizer defaults.')

# The DCGAN paper's optimizer, our default before it was measured against beta_1 0 / lr 1e-3.
PAPER_ADAM = dict(g_learning_rate=2e-4, d_learning_rate=2e-4, g_beta_1=0.5, d_beta_1=0.5, beta_2=0.999)
PAPER_ADAM_SUFFIX = '+paper_adam'

# The targets after 8 CPU-minutes.
TARGET_FD_RATIO, TARGET_SCORE, TARGET_LABEL_ACCURACY = 10.0, 7.0, 0.9


def train_for(budget_seconds, batches_by_epoch, step):
    """Runs `step(images, labels)` over epochs of batches until `budget_seconds` of CPU time are
    spent; returns (steps, images seen, CPU seconds, wall seconds)."""
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    steps = images_seen = epoch = 0
    while True:
        for images, labels in batches_by_epoch(epoch):
            step(images, labels)
            steps += 1
            images_seen += int(images.shape[0])
            if time.process_time() - cpu_start >= budget_seconds:
                return steps, images_seen, time.process_time() - cpu_start, time.perf_counter() - wall_start
        epoch += 1


def meets_targets(evaluation):
    ok = (evaluation.frechet_distance <= TARGET_FD_RATIO * evaluation.real_frechet_distance
          and evaluation.classifier_score >= TARGET_SCORE and not evaluation.collapsed_classes)
    return ok and (evaluation.label_accuracy is None or evaluation.label_accuracy >= TARGET_LABEL_ACCURACY)


def tutorial_row(info, evaluator, seed):
    """(batch size, batches(epoch), step(images, labels), evaluate()) for the tutorial's recipe."""
    from tutorial_dcgan import BATCH_SIZE, TutorialDCGAN
    tutorial = TutorialDCGAN()
    images = info.dataset.map(lambda image, label: image)
    return (BATCH_SIZE,
            lambda epoch: ((batch, None) for batch in tutorial.batches(images, seed + epoch)),
            lambda images, labels: tutorial.train_step(images),
            lambda: evaluator.evaluate(tutorial.generate))


def model_row(row, info, evaluator, seed, run_dir):
    """(batch size, batches(epoch), step(images, labels), evaluate()) for one of our models,
    with its defaults or, for a row named MODEL+paper_adam, with PAPER_ADAM. Evaluated, like an
    export, through the moving average of its generator's weights."""
    from tfgan2 import data, models
    from tfgan2.train import TrainConfig, Trainer
    name = row.removesuffix(PAPER_ADAM_SUFFIX)
    gan = models.build_gan(name, info.image_shape, info.num_classes)
    options = dict(PAPER_ADAM) if row.endswith(PAPER_ADAM_SUFFIX) else {}
    if FLAGS.ema_decay is not None:
        options['ema_decay'] = FLAGS.ema_decay
    config = TrainConfig(model_dir=os.path.join(run_dir, row), seed=seed, verbose=False, **options)
    trainer = Trainer(gan, config)
    return (config.batch_size,
            lambda epoch: data.input_pipeline(info.dataset, config.batch_size, config.seed, epoch),
            lambda images, labels: bool(trainer.train_step(images, labels)[1]),  # as our loop does
            lambda: _evaluate_averaged(trainer, evaluator, seed))


def _evaluate_averaged(trainer, evaluator, seed):
    """Evaluates the generator as previews and exports see it: its moving average."""
    with trainer.averaged_generator():
        return evaluator.evaluate_gan(trainer.gan, seed)


def main(argv):
    del argv
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import tensorflow as tf
    from tfgan2 import data, evaluation, models

    rows = FLAGS.rows or [*models.MODELS, 'tutorial']
    unknown = [r for r in rows if r != 'tutorial' and r not in models.MODELS]
    if unknown:
        raise app.UsageError(f'--rows: unknown {", ".join(unknown)}; use {", ".join(models.MODELS)} or tutorial.')
    if FLAGS.paper_adam:
        rows = [r for row in rows for r in ([row] if row == 'tutorial' else [row, row + PAPER_ADAM_SUFFIX])]
    info = data.load_dataset('fashion_mnist')
    evaluator = evaluation.Evaluator('fashion_mnist', num_samples=FLAGS.num_samples)
    run_dir = tempfile.mkdtemp(prefix='time-to-quality-')
    results = []
    for row in rows:
        tf.keras.utils.set_random_seed(FLAGS.seed)
        batch_size, batches, step, evaluate = (
            tutorial_row(info, evaluator, FLAGS.seed) if row == 'tutorial'
            else model_row(row, info, evaluator, FLAGS.seed, run_dir))
        print(f'Training {row} for {FLAGS.budget_minutes:g} CPU minutes...', flush=True)
        steps, seen, cpu, wall = train_for(FLAGS.budget_minutes * 60, batches, step)
        result = evaluate()
        print(f'  {steps} steps, {seen / 60000:.2f} epochs; {result.summary()}', flush=True)
        results.append((row, batch_size, steps, seen, cpu, wall, result))

    print(f'\nTime to quality on Fashion-MNIST: {FLAGS.budget_minutes:g} CPU minutes of training per row '
          f'({os.cpu_count()} cores); evaluation classifier test accuracy '
          f'{evaluator.classifier.test_accuracy:.4f}; {evaluator.num_samples} samples per evaluation; '
          f'real-vs-real FD floor {evaluator.real["frechet_distance"]:.3f}, real classifier score '
          f'{evaluator.real["classifier_score"]:.2f}.\n')
    print('| model | batch | steps | epochs | CPU min | wall min | img/s (wall) | FD | FD / floor '
          '| classifier score | label accuracy | collapsed classes | meets targets |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|')
    for row, batch_size, steps, seen, cpu, wall, result in results:
        label = '-' if result.label_accuracy is None else f'{result.label_accuracy:.3f}'
        names = result.collapsed_classes
        collapsed = (', '.join(names) or 'none') if len(names) <= 3 else f'{len(names)} of {len(result.class_names)}'
        print(f'| {row} | {batch_size} | {steps} | {seen / 60000:.2f} | {cpu / 60:.1f} | {wall / 60:.1f} '
              f'| {seen / wall:.0f} | {result.frechet_distance:.2f} '
              f'| {result.frechet_distance / result.real_frechet_distance:.1f}x '  # 10.3x must not read as 10x
              f'| {result.classifier_score:.2f} | {label} | {collapsed} '
              f'| {"yes" if meets_targets(result) else "no"} |')


if __name__ == '__main__':
    app.run(main)
