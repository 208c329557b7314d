"""Training throughput of the step options on this machine: plain tf.function, XLA
(--jit_compile), mixed_bfloat16 (--mixed_precision on CPU) and several steps per call
(--steps_per_execution), each as images/s and CPU time per step and as ratios to plain, from
one process.

Each configuration trains its own DCGAN (default architecture, batch 64, Fashion-MNIST) through
`Trainer.fit`, so the timing holds everything the train loop does per step (reading metrics back,
progress bar, TensorBoard). Configurations take turns, one epoch of --steps steps each per round,
in reversed order every other round, so load from other processes hits all of them alike; the
first round (tracing, XLA compilation) is not counted. The ratio to plain is the median of the
per-round ratios (each against plain in the same round), images/s the median over rounds. Mean
losses of the timed steps come along as a check that an option trains the same model.

  .venv/bin/python benchmarks/step_options.py --rounds=16 --steps=20
"""

import os
import statistics
import tempfile
import time

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_integer('rounds', 16, 'Rounds; each trains every configuration for one epoch of --steps '
                     'steps. The first is warm-up.', lower_bound=2)
flags.DEFINE_integer('steps', 20, 'Train steps per configuration per round.', lower_bound=1)
flags.DEFINE_integer('steps_per_execution', 10, 'Steps per call for the fused configuration.', lower_bound=2)
flags.DEFINE_integer('batch_size', 64, 'Images per step.', lower_bound=1)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # No per-checkpoint INFO lines between the results.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import keras
    import tensorflow as tf

    from tfgan2 import TrainConfig, Trainer, build_gan, data, distribute

    fashion = data.load('fashion_mnist')
    run_dir = tempfile.mkdtemp(prefix='step-options-')

    def trainer(name, policy='float32', **options):
        keras.mixed_precision.set_global_policy(policy)
        tf.keras.utils.set_random_seed(0)
        gan = build_gan('dcgan', fashion)
        keras.mixed_precision.set_global_policy('float32')
        config = TrainConfig(batch_size=FLAGS.batch_size, steps_per_epoch=FLAGS.steps, checkpoint_every=10**9,
                             verbose=False, **options)
        return Trainer(gan, os.path.join(run_dir, name), config)

    bfloat16 = distribute.mixed_precision_policy(tf.distribute.get_strategy())
    configurations = {
        'plain tf.function': trainer('plain'),
        'jit_compile (XLA)': trainer('xla', jit_compile=True),
        bfloat16: trainer('bf16', policy=bfloat16),
        f'steps_per_execution={FLAGS.steps_per_execution}': trainer(
            'fused', steps_per_execution=FLAGS.steps_per_execution),
    }
    rows = {name: [] for name in configurations}
    for round_ in range(FLAGS.rounds):
        for name in list(configurations)[::-1 if round_ % 2 else 1]:
            run, start = configurations[name], time.process_time()
            # CPU seconds of this process up to the epoch's end (before its grid and plot): less
            # sensitive than wall time to the load of other processes on a shared machine.
            cpu = {}
            clock = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs, cpu=cpu, start=start: cpu.update(
                    seconds=time.process_time() - start))
            row = {key: values[-1] for key, values in
                   run.fit(fashion, additional_epochs=1, callbacks=[clock]).history.items()}
            rows[name].append({**row, 'cpu_ms_per_step': 1000 * cpu['seconds'] / FLAGS.steps})
    timed = {name: history[1:] for name, history in rows.items()}  # Round 1 traces and compiles.

    def median_ratio(name, key):
        """Median over rounds of `name`'s `key` over plain's in the same round."""
        return statistics.median(row[key] / plain[key] for row, plain in zip(timed[name], timed['plain tf.function']))

    print(f'\nStep options on {os.cpu_count()} CPU cores, DCGAN batch {FLAGS.batch_size}, medians of '
          f'{FLAGS.rounds - 1} rounds x {FLAGS.steps} steps:\n')
    print('| configuration | images/s | speed vs plain | CPU ms/step | CPU vs plain | mean g_loss | mean d_loss |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for name, history in timed.items():
        rate = statistics.median(row['images_per_second'] for row in history)
        cpu = statistics.median(row['cpu_ms_per_step'] for row in history)
        g_loss = statistics.mean(row['g_loss'] for row in history)
        d_loss = statistics.mean(row['d_loss'] for row in history)
        print(f'| {name} | {rate:.0f} | {median_ratio(name, "images_per_second"):.2f}x | {cpu:.0f} '
              f'| {median_ratio(name, "cpu_ms_per_step"):.2f}x | {g_loss:.3f} | {d_loss:.3f} |')


if __name__ == '__main__':
    app.run(main)
