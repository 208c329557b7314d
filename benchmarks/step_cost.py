"""CPU cost of one training step for several configurations, as ratios measured in one run:
what augmentation adds to a step, what 64x64 images cost against 28x28 at the same batch, and
(with --baseline) whether this checkout's step costs what another checkout's does.

Each configuration is measured in a fresh process (--rows takes model:name=value settings as
benchmarks/time_to_quality.py does, plus size=28|32|64 and channels=1|3) that builds the GAN for
random images of that size, traces the step, and times --steps calls of `Trainer.step_function`
in process CPU time (all threads), so other load on the machine changes little. Configurations
take turns for --rounds rounds, reversed every other round; a ratio is the median of the per-round
ratios to the first row.

  PYTHONPATH=. .venv/bin/python benchmarks/step_cost.py --rows=selfcond,selfcond:augment=color+translation+cutout
  PYTHONPATH=. .venv/bin/python benchmarks/step_cost.py --rows=dcgan --baseline=/tmp/tfgan2-main
"""

import json
import os
import statistics
import subprocess
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list('rows', ['selfcond', 'selfcond:augment=color+translation+cutout', 'selfcond:size=64:channels=3'],
                  'Configurations; the first is the reference of the ratios.')
flags.DEFINE_string('baseline', None, 'Another checkout of tfgan2 (a folder with tfgan2/ in it): every row is '
                    'also measured with it, and the ratio of this checkout to it is printed.')
flags.DEFINE_integer('rounds', 5, 'Rounds of every configuration.', lower_bound=1)
flags.DEFINE_integer('steps', 30, 'Timed steps per configuration and round.', lower_bound=1)
flags.DEFINE_integer('batch_size', 64, 'Images per step.', lower_bound=1)
flags.DEFINE_string('measure', None, 'Internal: measure this row in this process and print JSON.')

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(row):
    """CPU milliseconds per step of `row`, after a traced warm-up step."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import tempfile

    import numpy as np
    import tensorflow as tf

    import tfgan2
    name, *settings = row.split(':')
    shape, hyperparameters, options = {'size': 28, 'channels': 1}, {}, {}
    config_fields = set(tfgan2.TrainConfig.__dataclass_fields__)
    for setting in settings:
        key, _, value = setting.partition('=')
        value = tuple(int(v) for v in value.split('/')) if '/' in value else _number(value.replace('+', ','))
        (shape if key in shape else options if key in config_fields else hyperparameters)[key] = value
    tf.keras.utils.set_random_seed(0)
    image_shape = (shape['size'], shape['size'], shape['channels'])
    num_classes = 0 if name in ('dcgan', 'selfcond') else 10
    gan = tfgan2.build_gan(name, image_shape=image_shape, num_classes=num_classes, **hyperparameters)
    trainer = tfgan2.Trainer(gan, tempfile.mkdtemp(), tfgan2.TrainConfig(
        batch_size=FLAGS.batch_size, verbose=False, **options))
    images = np.random.default_rng(0).uniform(-1, 1, (FLAGS.batch_size, *image_shape)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, max(num_classes, 1), FLAGS.batch_size).astype(np.int32)
    if name == 'selfcond':  # its clusters, as the trainer would make them before the first epoch
        gan.begin_epoch(tfgan2.data.from_arrays(((images + 1) * 127.5).astype(np.uint8)), 0, 0)
    step = trainer.step_function.train_step
    step(images, labels)[1].numpy()  # traced, and the first run's one-off costs paid
    start = time.process_time()
    for _ in range(FLAGS.steps):
        step(images, labels)[1].numpy()  # read back, as the training loop does
    return 1000 * (time.process_time() - start) / FLAGS.steps


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def run_child(row, checkout):
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([checkout, HERE])}
    result = subprocess.run([sys.executable, os.path.abspath(__file__), f'--measure={row}',
                             f'--steps={FLAGS.steps}', f'--batch_size={FLAGS.batch_size}'],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        raise RuntimeError(f'{row} in {checkout} failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv):
    del argv
    if FLAGS.measure:
        print(json.dumps(measure(FLAGS.measure)))
        return
    checkouts = {'this': os.path.dirname(HERE)}
    if FLAGS.baseline:
        checkouts['baseline'] = os.path.abspath(FLAGS.baseline)
    cells = [(row, name) for row in FLAGS.rows for name in checkouts]
    times = {cell: [] for cell in cells}
    for round_ in range(FLAGS.rounds):
        for cell in cells[::-1 if round_ % 2 else 1]:
            times[cell].append(run_child(cell[0], checkouts[cell[1]]))
        print(f'round {round_ + 1}: ' + ', '.join(f'{row} ({name}) {times[row, name][-1]:.1f} ms'
                                                  for row, name in cells), flush=True)
    reference = cells[0]
    print(f'\nCPU ms per step (batch {FLAGS.batch_size}, median of {FLAGS.rounds} rounds of {FLAGS.steps} steps, '
          f'{os.cpu_count()} cores); ratios are medians of per-round ratios:\n')
    print(f'| row | checkout | ms/step | vs {reference[0]} ({reference[1]}) |'
          + (' vs baseline |' if FLAGS.baseline else ''))
    print('|---|---|---:|---:|' + ('---:|' if FLAGS.baseline else ''))
    for row, name in cells:
        ratio = statistics.median(a / b for a, b in zip(times[row, name], times[reference]))
        line = f'| {row} | {name} | {statistics.median(times[row, name]):.1f} | {ratio:.2f}x |'
        if FLAGS.baseline:
            against = statistics.median(a / b for a, b in zip(times[row, name], times[row, 'baseline']))
            line += f' {against:.2f}x |'
        print(line)


if __name__ == '__main__':
    app.run(main)
