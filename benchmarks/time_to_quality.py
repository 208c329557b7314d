"""Time to quality: GANs of tfgan2.models, plus reference recipes written as their sources write
them (the TF DCGAN tutorial, the keras-io WGAN-GP example), trained from scratch on
Fashion-MNIST (or --data) for the same CPU budget, then evaluated by tfgan2.evaluation.

The budget is this process's CPU time (all threads) spent in training, clustering included, so
rows run at different moments on a shared machine get the same compute; evaluation is not
counted. Each row is evaluated --late_evaluations times over the last --late_window_minutes of
the budget, because where a GAN stops moves its FD by about 15% from one few hundred steps to
the next: the targets are judged on the mean of those readings. Our models train with the
defaults of TrainConfig and of each model; the references with their own. Each evaluation also
reports the self-supervised encoder's FD and precision/recall and, for InfoGAN, each continuous
code's R² (tfgan2.evaluation.codes).

Rows: a model name (its defaults); MODEL:name=value:name=value, where a name is a hyperparameter
or a TrainConfig field (selfcond:clusters=20, cgan:loss=hinge:n_critic=2) or `recipe`
(dcgan:recipe=wgan_gp), a value with '/' a list of whole numbers (generator_widths=256/128/64/32)
and '+' stands for ',' (augment=color+translation+cutout); MODEL+paper_adam (the DCGAN paper's
Adam); 'tutorial' or 'keras_io_wgan_gp'.

  PYTHONPATH=. .venv/bin/python benchmarks/time_to_quality.py --budget_minutes=8 --rows=dcgan,selfcond --seed=0
"""

import os
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_float('budget_minutes', 8.0, 'CPU minutes (process time, all threads) of training per row.',
                   lower_bound=0.01)
flags.DEFINE_list('rows', None, 'Rows to run (see the module docstring); default: every model and "tutorial".')
flags.DEFINE_integer('num_samples', None, 'Generated images per evaluation; default half the real images.')
flags.DEFINE_integer('seed', 0, 'Seed for weights, noise and batch order.')
flags.DEFINE_string('samples_dir', None, 'Also save each row\'s samples at its last reading as a grid, '
                    '<samples_dir>/<row>_seed<seed>.png (our models only).')
flags.DEFINE_string('data', 'fashion_mnist', 'What to train and evaluate on (anything tfgan2.data.load takes: '
                    'a TFDS name, a folder, e.g. the RGB folders of make_rgb_fashion.py); its test split, '
                    'if it has one, is the real data of the evaluation.')
flags.DEFINE_boolean('curve', False, 'Also evaluate every row after each epoch (not counted in the budget) '
                     'and print the per-epoch curve.')
flags.DEFINE_integer('late_evaluations', 3, 'Evaluations per row, evenly spaced over the last '
                     '--late_window_minutes of the budget, the last at the budget.', lower_bound=1)
flags.DEFINE_float('late_window_minutes', 1.0, 'CPU minutes before the budget that the first of '
                   '--late_evaluations is made at.', lower_bound=0.0)
flags.DEFINE_float('ema_decay', None, 'Decay of the generator\'s moving average that our rows are '
                   'evaluated through; 0: the trained weights. Default: TrainConfig\'s.')
flags.DEFINE_boolean('paper_adam', False, 'After each of our models, add a row training it with the DCGAN '
                     'paper\'s Adam (lr 2e-4, beta_1 0.5, beta_2 0.999), the baseline of our optimizer defaults.')

# The DCGAN paper's optimizer, our default before it was measured against beta_1 0 / lr 1e-3.
PAPER_ADAM = dict(g_learning_rate=2e-4, d_learning_rate=2e-4, g_beta_1=0.5, d_beta_1=0.5, g_beta_2=0.999,
                  d_beta_2=0.999)
PAPER_ADAM_SUFFIX = '+paper_adam'
REFERENCES = ('tutorial', 'keras_io_wgan_gp')  # rows trained by reference code, not by tfgan2

# Issue 15's targets, judged on the mean of the late readings: (FD / floor at most, classifier
# score at least) for models that draw requested classes and for the others; conditional ones
# also need label accuracy, no collapsed class and per-class diversity (generated / real) on
# average and for the worst class; unconditional ones no class under half its real share.
TARGETS = {True: (10.0, 7.0), False: (15.0, 6.5)}
TARGET_LABEL_ACCURACY, TARGET_MEAN_DIVERSITY, TARGET_WORST_DIVERSITY = 0.9, 0.8, 0.6
TARGET_WORST_SHARE = 0.5
# Issue 14's targets for other data (e.g. the RGB folders): FD within 10x the floor, a classifier
# score of at least 0.9x the real data's, and, for conditional models, label accuracy and no
# collapsed class as above.
OWN_DATA_FD_RATIO, OWN_DATA_SCORE_RATIO = 10.0, 0.9
# Issue 22's target for InfoGAN's continuous codes: a fresh regressor reads each back with R² of at
# least 0.8 from the 8-bit images, while the same regressor on shuffled codes stays at most 0.02.
TARGET_CODE_R2, TARGET_CODE_CONTROL = 0.8, 0.02


def evaluation_budgets(budget_seconds, count, window_seconds):
    """CPU seconds to evaluate at: `count` points evenly spaced over the last `window_seconds`
    of the budget (clipped at 0), ending at the budget."""
    if count == 1:
        return [budget_seconds]
    first = max(budget_seconds - window_seconds, 0.0)
    return [first + (budget_seconds - first) * i / (count - 1) for i in range(count)]


def train_for(budgets, batches_by_epoch, step, evaluate, curve=None):
    """Runs `step(images, labels)` over epochs of batches until the CPU time spent passes each of
    the ascending `budgets` (seconds) in turn, calling `evaluate()` there; its time is not
    counted. With a `curve` list, also evaluates after each epoch and appends (epoch, CPU
    minutes, evaluation). Returns (steps, images seen, CPU seconds, wall seconds) at the last
    budget and the evaluations."""
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    steps = images_seen = epoch = 0
    pending, evaluations = list(budgets), []

    def evaluate_uncounted():
        nonlocal cpu_start, wall_start
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
        evaluation = evaluate()
        # Restart both clocks where they stood before the evaluation.
        cpu_start, wall_start = time.process_time() - cpu, time.perf_counter() - wall
        return evaluation, cpu, wall

    while True:
        for images, labels in batches_by_epoch(epoch):
            step(images, labels)
            steps += 1
            images_seen += int(images.shape[0])
            if time.process_time() - cpu_start >= pending[0]:
                evaluation, cpu, wall = evaluate_uncounted()
                evaluations.append(evaluation)
                pending.pop(0)
                if not pending:
                    return steps, images_seen, cpu, wall, evaluations
        epoch += 1
        if curve is not None:
            evaluation, cpu, _ = evaluate_uncounted()
            curve.append((epoch, cpu / 60, evaluation))


def parse_row(row):
    """(model name, hyperparameters, TrainConfig options) of a row such as
    'selfcond:clusters=50', 'dcgan:recipe=wgan_gp', 'cgan:loss=hinge:n_critic=2' or
    'cgan+paper_adam'. A value with '/' is a list of whole numbers (generator_widths=256/128/64/32)
    and '+' stands for ',' (augment=color+translation+cutout): --rows is comma-separated."""
    import dataclasses

    from tfgan2 import TrainConfig, recipes
    options = dict(PAPER_ADAM) if row.endswith(PAPER_ADAM_SUFFIX) else {}
    name, *settings = row.removesuffix(PAPER_ADAM_SUFFIX).split(':')
    config_fields = {field.name for field in dataclasses.fields(TrainConfig)}
    hyperparameters = {}
    for setting in settings:
        key, _, value = setting.partition('=')
        if key == 'recipe':
            hyperparameters.update(recipes.RECIPES[value].hyperparameters)
            options.update(recipes.RECIPES[value].config)
        else:
            (options if key in config_fields else hyperparameters)[key] = _value(value)
    if FLAGS.ema_decay is not None:
        options['ema_decay'] = FLAGS.ema_decay
    return name, hyperparameters, options


def _value(text):
    if text in ('true', 'false'):
        return text == 'true'
    if '/' in text:
        return tuple(int(part) for part in text.split('/'))
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.replace('+', ',')


def reference_row(name, data, evaluator, seed):
    """(batch size, batches(epoch), step(images, labels), evaluate(), draws classes) for a
    reference recipe written as its source writes it: 'tutorial' (the TF DCGAN tutorial) or
    'keras_io_wgan_gp' (the keras-io WGAN-GP example)."""
    import tensorflow as tf
    if name == 'tutorial':
        from tutorial_dcgan import BATCH_SIZE
        from tutorial_dcgan import TutorialDCGAN as Reference
    else:
        from keras_io_wgan_gp import BATCH_SIZE
        from keras_io_wgan_gp import KerasIoWGANGP as Reference
    reference = Reference()
    images = data.elements.map(lambda image, label: (tf.cast(image, tf.float32) - 127.5) / 127.5)
    return (BATCH_SIZE,
            lambda epoch: ((batch, None) for batch in reference.batches(images, seed + epoch)),
            lambda images, labels: reference.train_step(images),
            lambda: evaluator.evaluate(reference.generate), False)


def model_row(row, data, evaluator, seed, run_dir):
    """(batch size, batches(epoch), step(images, labels), evaluate(), draws classes) for one of
    our models, stepped as `Trainer.fit` steps it (begin_epoch before each epoch) and evaluated,
    like an export, through the moving average of its generator's weights."""
    import tfgan2
    name, hyperparameters, options = parse_row(row)
    gan = tfgan2.build_gan(name, data, **hyperparameters)
    config = tfgan2.TrainConfig(seed=seed, verbose=False, **options)
    trainer = tfgan2.Trainer(gan, tempfile.mkdtemp(dir=run_dir), config)

    def batches(epoch):
        gan.begin_epoch(data, epoch, seed)
        return trainer.step_function.distribute(tfgan2.data.input_pipeline(data, config.batch_size, seed, epoch))

    last = {}  # the latest step's metrics

    def step(images, labels):
        last.update(trainer.step_function.train_step(images, labels)[0])

    def evaluate():
        state = {key: float(last[key]) for key in ('augment_p', 'real_sign') if key in last}
        if state:  # the state an evaluation finds the run in: augmentation, overfitting signal
            print('  at this reading: ' + ', '.join(f'{key} {value:.3f}' for key, value in state.items()), flush=True)
        if FLAGS.samples_dir:  # overwritten at each reading, so the last one stays
            os.makedirs(FLAGS.samples_dir, exist_ok=True)
            grid = tfgan2.artifacts.image_grid(gan.sample(64, seed=seed).numpy(), rows=8, min_width=0)
            tfgan2.artifacts.save_png(os.path.join(FLAGS.samples_dir, f'{row.replace(":", "_").replace("/", "-")}'
                                                   f'_seed{seed}.png'), grid)
        return evaluator.evaluate_gan(gan, seed)

    return config.batch_size, batches, step, evaluate, gan.draws_dataset_classes


def mean_figures(evaluations):
    """The figures the targets are judged on, each the mean over `evaluations`."""
    import numpy as np
    first = evaluations[0]

    def mean(field):
        return float(np.mean([getattr(e, field) for e in evaluations]))

    shares = np.mean([e.class_share for e in evaluations], axis=0) / np.asarray(first.real_class_share)
    diversity = np.mean([np.asarray(e.class_diversity) / np.asarray(e.real_class_diversity)
                         for e in evaluations], axis=0)
    return {'fd_ratio': float(np.mean([e.frechet_distance / e.real_frechet_distance for e in evaluations])),
            'score': mean('classifier_score'), 'coverage': mean('class_coverage'),
            'ambiguity': mean('class_ambiguity'), 'share_distance': mean('class_share_distance'),
            'worst_share': float(np.min(shares)), 'mean_diversity': float(np.nanmean(diversity)),
            'worst_diversity': float(np.nanmin(diversity)),
            'label_accuracy': None if first.label_accuracy is None else mean('label_accuracy'),
            'collapsed': sorted({name for e in evaluations for name in e.collapsed_classes}),
            'selfsupervised_fd_ratio': None if first.selfsupervised_frechet_distance is None else float(np.mean(
                [e.selfsupervised_frechet_distance / e.real_selfsupervised_frechet_distance for e in evaluations])),
            'precision_recall': None if first.precision is None else (mean('precision'), mean('recall')),
            'copy_share': None if first.copy_share is None else (mean('copy_share'), mean('real_copy_share')),
            'code_r2': None if first.code_r2 is None else (np.mean([e.code_r2 for e in evaluations], axis=0),
                                                           np.mean([e.code_r2_shuffled for e in evaluations], axis=0))}


def missed_targets(figures, conditional, real_score):
    """The targets the mean figures miss, as short phrases (empty when all are met): issue 15's
    on Fashion-MNIST, issue 14's on other data, and issue 22's for InfoGAN's codes."""
    if figures['code_r2'] is not None:
        r2, control = figures['code_r2']
        if min(r2) < TARGET_CODE_R2 or max(control) > TARGET_CODE_CONTROL:
            return [*missed_targets({**figures, 'code_r2': None}, conditional, real_score), 'code R²']
    if FLAGS.data != 'fashion_mnist':
        checks = [(figures['fd_ratio'] <= OWN_DATA_FD_RATIO, f'FD > {OWN_DATA_FD_RATIO:g}x'),
                  (figures['score'] >= OWN_DATA_SCORE_RATIO * real_score, f'score < {OWN_DATA_SCORE_RATIO}x real')]
        if conditional:
            checks += [(figures['label_accuracy'] >= TARGET_LABEL_ACCURACY, 'label accuracy'),
                       (not figures['collapsed'], 'collapsed')]
        return [miss for ok, miss in checks if not ok]
    fd_ratio, score = TARGETS[conditional]
    checks = [(figures['fd_ratio'] <= fd_ratio, f'FD > {fd_ratio:g}x'), (figures['score'] >= score, f'score < {score}')]
    if conditional:
        checks += [(figures['label_accuracy'] >= TARGET_LABEL_ACCURACY, 'label accuracy'),
                   (not figures['collapsed'], 'collapsed'),
                   (figures['mean_diversity'] >= TARGET_MEAN_DIVERSITY, 'mean diversity'),
                   (figures['worst_diversity'] >= TARGET_WORST_DIVERSITY, 'worst diversity')]
    else:
        checks.append((figures['worst_share'] >= TARGET_WORST_SHARE, 'a class under half its share'))
    return [miss for ok, miss in checks if not ok]


def print_table(results, evaluator, budgets, train_examples):
    real = evaluator.real
    print(f'\nTime to quality on {FLAGS.data}: {FLAGS.budget_minutes:g} CPU minutes of training per row '
          f'({os.cpu_count()} cores), seed {FLAGS.seed}; evaluation classifier test accuracy '
          f'{evaluator.classifier_test_accuracy:.4f}; {evaluator.num_samples} samples per evaluation; '
          f'real-vs-real FD floor {real["frechet_distance"]:.3f}, real classifier score '
          f'{real["classifier_score"]:.2f} (coverage {real["class_coverage"]:.2f}, ambiguity '
          f'{real["class_ambiguity"]:.2f}).\n')
    late = ' / '.join(f'{b / 60:g}' for b in budgets)
    print(f'| row | seed | steps | epochs | wall min | FD at {late} CPU min | mean FD / floor | classifier '
          f'score | coverage / ambiguity | class mix TV | worst class share | diversity mean / worst '
          f'| label accuracy | collapsed | self-supervised FD / floor | precision / recall '
          f'| near-copies (held-out real) | code R² (shuffled control) | meets targets |')
    print('|---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---|---:|---|---:|---|---|---|---|')
    for row, steps, seen, wall, evaluations, conditional in results:
        figures = mean_figures(evaluations)
        missed = missed_targets(figures, conditional, real['classifier_score'])
        label = '-' if figures['label_accuracy'] is None else f'{figures["label_accuracy"]:.3f}'
        ss_fd = '-' if figures['selfsupervised_fd_ratio'] is None else f'{figures["selfsupervised_fd_ratio"]:.1f}x'
        pr = '-' if figures['precision_recall'] is None else '{:.2f} / {:.2f}'.format(*figures['precision_recall'])
        copies = '-' if figures['copy_share'] is None else '{:.1%} ({:.1%})'.format(*figures['copy_share'])
        code_r2 = '-' if figures['code_r2'] is None else (
            ' / '.join(f'{r2:.2f}' for r2 in figures['code_r2'][0])
            + ' (' + ' / '.join(f'{r2:.2f}' for r2 in figures['code_r2'][1]) + ')')
        print(f'| {row} | {FLAGS.seed} | {steps} | {seen / train_examples:.2f} | {wall / 60:.1f} '
              f'| {" / ".join(f"{e.frechet_distance:.2f}" for e in evaluations)} '
              f'| {figures["fd_ratio"]:.1f}x | {figures["score"]:.2f} '
              f'| {figures["coverage"]:.2f} / {figures["ambiguity"]:.2f} | {figures["share_distance"]:.3f} '
              f'| {figures["worst_share"]:.2f} | {figures["mean_diversity"]:.2f} / {figures["worst_diversity"]:.2f} '
              f'| {label} | {", ".join(figures["collapsed"]) or "none"} | {ss_fd} | {pr} | {copies} | {code_r2} '
              f'| {"**yes**" if not missed else "no: " + ", ".join(missed)} |')


def main(argv):
    del argv
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import keras

    import tfgan2

    rows = FLAGS.rows or [*tfgan2.models.MODELS, 'tutorial']
    unknown = [r for r in rows if r not in REFERENCES and parse_row(r)[0] not in tfgan2.models.MODELS]
    if unknown:
        raise app.UsageError(f'--rows: unknown {", ".join(unknown)}; use {", ".join(tfgan2.models.MODELS)} '
                             f'or one of {", ".join(REFERENCES)}.')
    if FLAGS.paper_adam:
        rows = [r for row in rows for r in ([row] if row in REFERENCES else [row, row + PAPER_ADAM_SUFFIX])]
    data = tfgan2.data.load(FLAGS.data)
    try:
        test = tfgan2.data.load(FLAGS.data, split='test')
    except tfgan2.data.DataUnavailableError:
        test = None  # the evaluator holds out part of the data instead
    evaluator = tfgan2.evaluation.Evaluator(data, test, num_samples=FLAGS.num_samples)
    run_dir = tempfile.mkdtemp(prefix='time-to-quality-')
    budgets = evaluation_budgets(FLAGS.budget_minutes * 60, FLAGS.late_evaluations,
                                 FLAGS.late_window_minutes * 60)
    results = []
    for row in rows:
        keras.utils.set_random_seed(FLAGS.seed)
        batch_size, batches, step, evaluate, conditional = (
            reference_row(row, data, evaluator, FLAGS.seed) if row in REFERENCES
            else model_row(row, data, evaluator, FLAGS.seed, run_dir))
        print(f'Training {row} for {FLAGS.budget_minutes:g} CPU minutes...', flush=True)
        curve = [] if FLAGS.curve else None
        steps, seen, cpu, wall, evaluations = train_for(budgets, batches, step, evaluate, curve)
        print(f'  {steps} steps, {seen / data.num_examples:.2f} epochs; {evaluations[-1].summary()}', flush=True)
        for epoch, minutes, evaluation in curve or []:
            print(f'  curve: epoch {epoch} at {minutes:.1f} CPU min: {evaluation.summary()}', flush=True)
        results.append((row, steps, seen, wall, evaluations, conditional))
    print_table(results, evaluator, budgets, data.num_examples)


if __name__ == '__main__':
    app.run(main)
