"""Train-step throughput: our DCGAN against the TF DCGAN tutorial's loop, in one process, on the
same Fashion-MNIST batches, printed as images/s and as a ratio to the tutorial.

Rows: the tutorial; ours at the tutorial's architecture (widths 256-128-64 / 64-128, 5x5 kernels);
ours at our defaults; all at the tutorial's batch of 256, plus ours at our default batch of 64.
Configurations take turns in rounds, so load from other processes hits all of them alike;
each figure is the median over rounds.

  .venv/bin/python benchmarks/train_throughput.py --rounds=5 --steps=5
"""

import os
import statistics
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer('rounds', 5, 'Timed rounds; each runs every configuration once.', lower_bound=1)
flags.DEFINE_integer('steps', 5, 'Train steps per configuration per round.', lower_bound=1)
flags.DEFINE_integer('warmup_steps', 3, 'Untimed steps after tracing.', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed for weights and batch order.')


def main(argv):
    del argv
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import tensorflow as tf
    from tutorial_dcgan import BATCH_SIZE, TutorialDCGAN

    from tfgan2 import TrainConfig, Trainer, build_gan, data

    fashion = data.load('fashion_mnist')
    needed = FLAGS.warmup_steps + FLAGS.steps
    batches = list(data.input_pipeline(fashion, BATCH_SIZE, FLAGS.seed).take(needed))
    small_batches = list(data.input_pipeline(fashion, 64, FLAGS.seed).take(needed))
    tf.keras.utils.set_random_seed(FLAGS.seed)
    run_dir = tempfile.mkdtemp(prefix='throughput-')

    def ours(name, batch, **hyperparameters):
        gan = build_gan('dcgan', fashion, **hyperparameters)
        trainer = Trainer(gan, os.path.join(run_dir, name), TrainConfig(batch_size=len(batch[0][0]), verbose=False))
        # Our loop reads `applied` (and the metrics) back after every step.
        return lambda images, labels: bool(trainer.step_function.train_step(images, labels)[1]), batch

    tutorial = TutorialDCGAN()
    configurations = {
        'tutorial loop (batch 256)': (lambda images, labels: tutorial.train_step(images), batches),
        'ours, tutorial architecture (batch 256)': ours('tutorial_arch', batches, kernel_size=5,
                                                        generator_widths=(256, 128, 64),
                                                        discriminator_widths=(64, 128)),
        'ours, default architecture (batch 256)': ours('default_256', batches),
        'ours, default architecture (batch 64)': ours('default_64', small_batches),
    }

    def run_steps(step, step_batches):
        for images, labels in step_batches:
            step(images, labels)

    for step, step_batches in configurations.values():  # Tracing and warm-up.
        run_steps(step, step_batches[:FLAGS.warmup_steps])
    rates = {name: [] for name in configurations}
    for _ in range(FLAGS.rounds):
        for name, (step, step_batches) in configurations.items():
            timed = step_batches[FLAGS.warmup_steps:]
            start = time.perf_counter()
            run_steps(step, timed)
            tutorial.generator_optimizer.iterations.numpy()  # Sync point (steps run synchronously on CPU).
            rates[name].append(sum(len(images) for images, _ in timed) / (time.perf_counter() - start))

    baseline = statistics.median(rates['tutorial loop (batch 256)'])
    print(f'\nTrain-step throughput on {os.cpu_count()} CPU cores, median of {FLAGS.rounds} rounds x '
          f'{FLAGS.steps} steps:\n')
    print('| configuration | images/s | ms/step | vs tutorial |')
    print('|---|---:|---:|---:|')
    for name, (_, step_batches) in configurations.items():
        rate = statistics.median(rates[name])
        batch = len(step_batches[0][0])
        print(f'| {name} | {rate:.0f} | {1000 * batch / rate:.0f} | {rate / baseline:.2f}x |')


if __name__ == '__main__':
    app.run(main)
