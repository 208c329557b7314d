"""Is the self-supervised Fréchet distance honest? It must rank what the labelled classifier's FD
ranks, the way that FD ranks it, without ever seeing a label.

On labelled data (Fashion-MNIST, or the RGB folders of make_rgb_fashion.py) one Evaluator measures
both: the classifier's FD (trained with labels) and the self-supervised encoder's figures (trained
on the same images without them). Real images for the floors are held out of the training split;
the test split, which neither network saw, supplies
- a ladder of degraded real sets (blur, noise, dropped classes, too little variety, 10% copies of
  training images), and
- with --checkpoint_minutes, the samples of a real training run after each of those CPU-minutes
  (time_to_quality.py's loop; the run's own time only).
It prints every figure per set, Spearman's rank correlation between the two FDs (ladder, run, and
both pooled), the one-class-dropped ratios, the copy shares, and the encoder's training and
evaluation CPU time (process time, all threads).

  PYTHONPATH=benchmarks .venv/bin/python benchmarks/honest_metric.py --data=fashion_mnist \\
      --checkpoint_minutes=0.25,0.5,1,2,4,8 --seed=0
"""

import os
import tempfile
import time

import time_to_quality  # Its flags serve here too: --data (labelled, with a test split), --seed, --num_samples.
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list('checkpoint_minutes', [], 'CPU minutes of training after which to measure a run\'s samples; '
                  'empty: the ladder only.')
flags.DEFINE_string('row', 'selfcond', 'The model (a time_to_quality.py row) whose run is measured.')
flags.DEFINE_string('cache_dir', None, 'Where the classifier and encoder are cached (default: a fresh '
                    'folder, so that the encoder\'s training is timed).')

BLUR = (0.5, 1.0, 1.5, 2.5)  # pixels
NOISE = (8, 24, 64)  # 0-255 units
REPEATED = (0.5, 0.1, 0.01)  # unique share
DROPPED = {'1 class dropped': [0], '3 classes dropped': [0, 3, 6], '5 classes dropped': [0, 2, 4, 6, 8]}
COPIED = 0.1


def ladder(images, labels, train_images, count, rng):
    """{name: uint8 images [count, ...]}: the rungs, from held-out `images` and their `labels`."""
    import degradations
    clean = images[:count]
    rungs = {'clean (held-out real)': clean}
    rungs.update({f'blur {s:g} px': degradations.blur(clean, s) for s in BLUR})
    rungs.update({f'noise {s:g}': degradations.noise(clean, s, rng) for s in NOISE})
    rungs.update({name: degradations.without_classes(images, labels, classes, count, rng)
                  for name, classes in DROPPED.items()})
    rungs.update({f'{share:.0%} unique': degradations.repeated(clean, share, rng) for share in REPEATED})
    rungs[f'{COPIED:.0%} training copies'] = degradations.with_copies(clean, train_images, COPIED, rng)
    return rungs


def from_images(images):
    """A generator returning `images` in turn (uint8 -> [-1, 1])."""
    returned = 0

    def generate(count, labels):
        nonlocal returned
        returned += count
        return images[returned - count:returned].astype('float32') / 127.5 - 1
    return generate


def measured(name, evaluation, cpu_seconds):
    return {'set': name, 'evaluation': evaluation, 'cpu': cpu_seconds}


def print_rows(rows):
    print('| set | classifier FD / floor | self-supervised FD / floor | KID (x1e3) | precision | recall '
          '| density | coverage | near-copies |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for row in rows:
        e = row['evaluation']
        print(f'| {row["set"]} | {e.frechet_distance / e.real_frechet_distance:.2f} '
              f'| {e.selfsupervised_frechet_distance / e.real_selfsupervised_frechet_distance:.2f} '
              f'| {1e3 * e.selfsupervised_kernel_distance:.3f} | {e.precision:.3f} | {e.recall:.3f} '
              f'| {e.density:.3f} | {e.coverage:.3f} | {e.copy_share:.1%} |')
    print()


def spearman_line(label, rows):
    from degradations import spearman
    rho = spearman([r['evaluation'].frechet_distance for r in rows],
                   [r['evaluation'].selfsupervised_frechet_distance for r in rows])
    print(f'- Spearman, {label} ({len(rows)} sets): **{rho:.3f}**')
    return rho


def main(argv):
    del argv
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import logging

    import keras
    import numpy as np

    import tfgan2
    from tfgan2.evaluation import evaluate
    logging.basicConfig(level=logging.INFO, format='%(message)s')

    data = tfgan2.data.load(FLAGS.data)
    test = tfgan2.data.load(FLAGS.data, split='test')
    if not data.labeled:
        raise app.UsageError(f'--data={FLAGS.data} has no labels: the classifier it is compared with needs them.')
    cache_dir = FLAGS.cache_dir or tempfile.mkdtemp(prefix='honest-metric-cache-')
    start = time.process_time()
    # No test split: the real halves are held out of the training split, so the test split is
    # free for the ladder, and neither network trained on any of it.
    evaluator = evaluate.Evaluator(data, num_samples=FLAGS.num_samples, cache_dir=cache_dir)
    count = evaluator.num_samples
    setup_cpu = time.process_time() - start
    info = evaluator.encoder.info
    (pool, labels), = evaluate.sample_arrays(test, [test.num_examples])
    order = np.random.default_rng(FLAGS.seed).permutation(len(pool))
    pool, labels = pool[order], labels[order]
    (train_images, _), = evaluate.sample_arrays(data, [count], seed=FLAGS.seed + 1)
    rows = []
    for name, images in ladder(pool, labels, train_images, count, np.random.default_rng(FLAGS.seed)).items():
        start = time.process_time()
        evaluation = evaluator.evaluate(from_images(images))
        rows.append(measured(name, evaluation, time.process_time() - start))
        print(f'{name}: {evaluation.summary()} ({rows[-1]["cpu"]:.1f} CPU s)', flush=True)

    run_rows = []
    if FLAGS.checkpoint_minutes:
        minutes = [float(m) for m in FLAGS.checkpoint_minutes]
        keras.utils.set_random_seed(FLAGS.seed)
        _, batches, step, evaluate_run, _ = time_to_quality.model_row(
            FLAGS.row, data, evaluator, FLAGS.seed, tempfile.mkdtemp(prefix='honest-metric-run-'))
        evaluations = time_to_quality.train_for([m * 60 for m in minutes], batches, step, evaluate_run)[-1]
        for m, evaluation in zip(minutes, evaluations):
            run_rows.append(measured(f'{FLAGS.row} after {m:g} CPU min', evaluation, None))
            print(f'{run_rows[-1]["set"]}: {evaluation.summary()}', flush=True)

    print(f'\nHonest-metric check on {FLAGS.data}: {count} images per set, seed {FLAGS.seed}, '
          f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end.')
    print(f'- Encoder: {info["train_examples"]} training images, {info["train_steps"]} steps, '
          f'{info["train_cpu_seconds"]:.0f} CPU s ({info["train_seconds"]:.0f} s wall) to train; '
          f'evaluator set-up (both networks, real features, floors) {setup_cpu:.0f} CPU s; '
          f'one evaluation of {count} images {np.median([r["cpu"] for r in rows]):.1f} CPU s '
          f'(median; both feature spaces).')
    print(f'- Classifier test accuracy {evaluator.classifier_test_accuracy:.4f}; floors: classifier FD '
          f'{rows[0]["evaluation"].real_frechet_distance:.4g}, self-supervised FD '
          f'{rows[0]["evaluation"].real_selfsupervised_frechet_distance:.4g} (re-splits '
          f'{rows[0]["evaluation"].real_selfsupervised_frechet_distance_interval[0]:.4g} to '
          f'{rows[0]["evaluation"].real_selfsupervised_frechet_distance_interval[1]:.4g})\n')
    print_rows(rows)
    if run_rows:
        print_rows(run_rows)
    spearman_line('degraded sets', rows)
    if run_rows:
        spearman_line(f'{FLAGS.row} run', run_rows)
        spearman_line('both pooled', rows + run_rows)
    by_name = {r['set']: r['evaluation'] for r in rows}
    clean, dropped = by_name['clean (held-out real)'], by_name['1 class dropped']
    ratio = dropped.selfsupervised_frechet_distance / clean.selfsupervised_frechet_distance
    print(f'- One class of ten dropped: self-supervised FD x{ratio:.2f} against the clean set '
          f'(classifier FD x{dropped.frechet_distance / clean.frechet_distance:.2f}), '
          f'recall x{dropped.recall / clean.recall:.3f}, coverage x{dropped.coverage / clean.coverage:.3f}')
    copied = by_name[f'{COPIED:.0%} training copies']
    print(f'- {COPIED:.0%} training copies: near-copy share {copied.copy_share:.1%} '
          f'(flagged: {copied.copies_training_images}); clean held-out {clean.copy_share:.1%} '
          f'(flagged: {clean.copies_training_images}), real half {clean.real_copy_share:.1%}')


if __name__ == '__main__':
    app.run(main)
