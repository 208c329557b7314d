"""The run directory: the one owner of where a training run keeps things and of its record.

    MODEL_DIR/gan.json          the record: which GAN (model and every hyperparameter) on which data
    MODEL_DIR/checkpoints/      ckpt-<step>.index/.data-*: the GAN and its training state
    MODEL_DIR/images/           epoch_NNNN.png, and <grid>/epoch_NNNN.png for extra grids
    MODEL_DIR/training.gif      the epoch grids in order
    MODEL_DIR/history.csv       per-epoch means and figures; losses.png plots them
    MODEL_DIR/logs/             TensorBoard
    MODEL_DIR/.lock             held by the process training in the folder

The trainer writes through it, the exporter and the evaluator rebuild GANs through it. The
record is data from disk: every field is checked before use and none becomes part of a path.
"""

import json
import logging
import math
import os
import re

import tensorflow as tf

from tfgan2 import errors, models, storage
from tfgan2.data import checked_name
from tfgan2.data.convert import MAX_IMAGE_SIDE
from tfgan2.models import hyperparameters as hp
from tfgan2.models import networks

logger = logging.getLogger(__name__)

RECORD_FILE = 'gan.json'
CHECKPOINT_PREFIX = 'ckpt'
# Where the trainer moves checkpoints it found damaged, so that they are saved again.
DAMAGED_DIR = 'damaged'

# Bounds on what a record (or the command line) may ask for: far above what any recipe here
# builds, low enough that a damaged or planted gan.json cannot make a process allocate without
# bound before anything else is checked.
MAX_RECORD_BYTES = 1 << 20
MAX_CLASSES = 1 << 16
MAX_WEIGHTS = 1 << 28  # estimated weights of either network (1 GiB in float32)
MAX_LAYERS = 64  # widths of either network: layers of its stack
# Settings that count labels the networks embed or score (classes, clusters, categories).
_LABEL_COUNTS = ('num_classes', 'clusters', 'categories')
# The checkpoint entry of the GAN (networks and state of its own); rebuilding a GAN restores it.
GAN_OBJECT = 'gan'


class RunRecordError(errors.RunError):
    """A run folder's gan.json is missing, unreadable, or does not describe a tfgan2 GAN."""


class CheckpointError(errors.RunError):
    """No checkpoint of a run can be read."""


def data_record(data):
    """What a run records about its data (a `tfgan2.data.ImageData`)."""
    return {'name': data.name, 'source': data.source, 'image_shape': list(data.image_shape),
            'num_classes': data.num_classes,
            'class_names': list(data.class_names) if data.class_names is not None else None,
            'num_examples': data.num_examples}


def gan_record(gan):
    """What a run records about its GAN: the model and every hyperparameter, as JSON values."""
    config = {key: list(value) if isinstance(value, tuple) else value for key, value in gan.get_config().items()}
    return {'model': gan.kind, 'config': config}


class RunDir:
    """Paths and record of the training run in `path` (local, gs:// or ram://)."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self.record_path = self.file(RECORD_FILE)
        self.checkpoint_dir = self.file('checkpoints')
        self.history_path = self.file('history.csv')
        self.plot_path = self.file('losses.png')
        self.gif_path = self.file('training.gif')
        self.logs_dir = self.file('logs')

    def __str__(self):
        return self.path

    def file(self, *parts):
        return storage.join(self.path, *parts)

    def grid_path(self, epoch, grid='epoch'):
        """The preview grid `grid` of `epoch`: images/epoch_NNNN.png for the main one."""
        folder = self.file('images') if grid == 'epoch' else self.file('images', grid)
        return storage.join(folder, f'epoch_{epoch:04d}.png')

    def lock(self):
        """An exclusive lock on the folder (`storage.FolderLock`), to hold while training."""
        return storage.FolderLock(self.path)

    def has_record(self):
        return storage.exists(self.record_path)

    def read_record(self):
        """The run's gan.json, checked field by field (`RunRecordError` when it does not fit)."""
        if not self.has_record():
            raise RunRecordError(f'{self.path} has no {RECORD_FILE}: it is not a tfgan2 training run '
                                 f'(train one with model_dir={self.path}).')
        try:
            record = json.loads(storage.read_text(self.record_path, MAX_RECORD_BYTES))
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
            raise RunRecordError(f'{self.record_path} is not valid JSON ({e}); restore it from a copy, '
                                 f'or train in a new folder.') from None
        _check_record(record, self.record_path)
        return record

    def write_record(self, record):
        storage.write_atomically(self.record_path, json.dumps(record, indent=2) + '\n')

    def check_record(self, record):
        """Refuses to continue this run with a different GAN or data; names what differs."""
        saved = self.read_record()
        differences = _differences(saved['config'], record['config'])
        if saved['model'] != record['model']:
            differences.insert(0, f'model {saved["model"]} (asked: {record["model"]})')
        for key in ('name', 'image_shape', 'num_classes', 'class_names'):
            if saved['data'][key] != record['data'][key]:
                differences.append(f'data {key} {saved["data"][key]} (asked: {record["data"][key]})')
        if differences:
            self.build_gan()  # settings no GAN takes are damage (named as such), not another run's
            raise errors.RunError(f'{self.path} holds a run that differs in {"; ".join(differences)}. Continue '
                                  f'it with its own settings, or train in a new folder.')

    def build_gan(self):
        """A fresh GAN as the record describes it (weights not restored). Settings the model
        refuses are a damaged record (`RunRecordError`), as those `read_record` refuses are."""
        record = self.read_record()
        config = record['config']
        try:
            return models.build_gan(record['model'], image_shape=config.pop('image_shape'),
                                    num_classes=config.pop('num_classes', 0), **config)
        except errors.ConfigError as e:
            raise RunRecordError(_not_a_record(self.record_path, str(e).rstrip('.'))) from None

    def checkpoints(self):
        """The checkpoint prefixes on disk, newest first, found by listing (not by the state
        file, which a crash or a person may have damaged)."""
        found = tf.io.gfile.glob(storage.join(self.checkpoint_dir, f'{CHECKPOINT_PREFIX}-*.index'))
        steps = sorted((int(m[1]) for m in (re.search(r'-(\d+)\.index$', p) for p in found) if m), reverse=True)
        return [storage.join(self.checkpoint_dir, f'{CHECKPOINT_PREFIX}-{step}') for step in steps]

    def load_gan(self, checkpoint=None, fallback=True):
        """The GAN of this run with the networks of `checkpoint` (default: the newest readable
        one; without `fallback`, the newest, refusing to fall back past a damaged one); the
        optimizers' state is left out."""
        if checkpoint and not tf.io.gfile.glob(f'{checkpoint}.index'):
            newest = next(iter(self.checkpoints()), None)
            raise CheckpointError(f'checkpoint={checkpoint} names no checkpoint (there is no {checkpoint}.index); '
                                  f'pass a prefix such as {newest or "<run>/checkpoints/ckpt-<step>"}, without '
                                  f'the file extension.')
        gan = self.build_gan()
        restore_newest({GAN_OBJECT: gan},
                       [checkpoint] if checkpoint else self.checkpoints(), self.path, fallback=fallback)
        return gan

    def write_checkpoint(self, checkpoint, step):
        """Writes `checkpoint` (a `tf.train.Checkpoint`) as ckpt-`step`, whole or not at all:
        when the write fails (a full disk), what it left is removed and one `CheckpointError`
        names it. Returns the prefix."""
        prefix = storage.join(self.checkpoint_dir, f'{CHECKPOINT_PREFIX}-{step}')
        try:
            checkpoint.write(prefix)
        except tf.errors.OpError as e:
            for leftover in tf.io.gfile.glob(prefix + '_temp*') + tf.io.gfile.glob(prefix + '.*'):
                (tf.io.gfile.rmtree if tf.io.gfile.isdir(leftover) else tf.io.gfile.remove)(leftover)
            newest = next(iter(self.checkpoints()), None)
            raise CheckpointError(f'Cannot write the checkpoint {prefix} ({storage.error_line(e)}); free space on '
                                  f'its disk and train again: the run resumes from {newest or "the start"}.'
                                  ) from None
        return prefix

    def set_aside_newer_than(self, prefix):
        """Moves the checkpoint files of steps after `prefix` (those found damaged, and data
        files left without their index) into checkpoints/damaged/, so the steps trained again
        are saved again and nothing falls back to `prefix` any more."""
        step = _step_of(prefix)
        newer = [path for path in tf.io.gfile.glob(storage.join(self.checkpoint_dir, f'{CHECKPOINT_PREFIX}-*'))
                 if (_step_of(path) or 0) > step]
        if not newer:
            return
        aside = storage.join(self.checkpoint_dir, DAMAGED_DIR)
        tf.io.gfile.makedirs(aside)
        for path in newer:
            tf.io.gfile.rename(path, storage.join(aside, storage.basename(path)), overwrite=True)
        logger.warning('Moved %s to %s: the steps after %s are trained and saved again.',
                       ', '.join(sorted({storage.basename(p).split('.')[0] for p in newer})), aside,
                       storage.basename(prefix))


def restore_newest(objects, candidates, run_path, optional=(), fallback=True):
    """Restores `objects` ({name: trackable}) from the first readable checkpoint among
    `candidates` (newest first), logging each damaged one it falls back past; returns its prefix.
    Without `fallback`, a damaged newest checkpoint is a `CheckpointError` naming the newest
    readable one. Objects named in `optional` (each the sole owner of its variables) may be
    absent from a checkpoint: they keep their values. A checkpoint that reads but does not fit
    the objects is a different model, not damage."""
    if not candidates:
        raise CheckpointError(f'{run_path} has no checkpoint yet; train it first.')
    problems = []
    for prefix in candidates:
        try:
            # Not tf.train.load_checkpoint: it takes a ram:// prefix for a folder.
            saved = variable_owners(tf.compat.v1.train.NewCheckpointReader(prefix))
        except (tf.errors.OpError, ValueError) as e:
            problems.append(f'{prefix}: {storage.error_line(e)}')
            logger.warning('%s is unreadable (%s); trying the one before it.', prefix, storage.error_line(e))
            continue
        present = {name: value for name, value in objects.items() if name not in optional or name in saved}
        try:
            tf.train.Checkpoint(**present).read(prefix).expect_partial().assert_existing_objects_matched()
        except (tf.errors.OpError, IndexError) as e:  # IndexError: a data file cut short
            problems.append(f'{prefix}: {storage.error_line(e)}')
            logger.warning('%s is damaged (%s); trying the one before it.', prefix, storage.error_line(e))
            continue
        except (AssertionError, ValueError) as e:
            raise CheckpointError(f'{prefix} does not fit this GAN ({storage.error_line(e)}): it was written for a '
                                  f'different model. Use that model\'s settings, or another folder.') from None
        if problems and not fallback:
            raise CheckpointError(f'The newest checkpoint of {run_path} is damaged ({problems[0]}); the newest '
                                  f'readable one is {prefix}. Train again with the same settings to train and '
                                  f'save the lost steps again, or pass checkpoint={prefix} to use it as it is.')
        if problems:
            logger.warning('Restored %s, the newest readable checkpoint.', prefix)
        return prefix
    raise CheckpointError(f'No checkpoint of {run_path} can be read ({"; ".join(problems)}). Move the '
                          f'damaged files away to start over, or train in a new folder.')


def _step_of(path):
    """The step in a checkpoint file's or prefix's name (ckpt-<step>...), or None."""
    match = re.fullmatch(rf'{CHECKPOINT_PREFIX}-(\d+)(\..*)?', storage.basename(path))
    return int(match[1]) if match else None


def variable_owners(reader):
    """The top-level names under which a checkpoint (a checkpoint reader) saved
    variables. A variable reachable from several objects is saved under one of them only, so
    this tells whether an object that alone holds its variables (the loss scale) was saved."""
    return {key.split('/')[0] for key in reader.get_variable_to_shape_map()}


def _differences(saved, asked):
    return [f'{key} {saved.get(key)} (asked: {asked.get(key)})'
            for key in sorted({*saved, *asked}) if saved.get(key) != asked.get(key)]


def _check_record(record, path):
    """Checks gan.json's structure, names, types and sizes before anything is built from it."""
    def fail(problem):
        raise RunRecordError(_not_a_record(path, problem))

    if not isinstance(record, dict) or set(record) != {'model', 'config', 'data'}:
        fail('expected a JSON object with model, config and data')
    if not isinstance(record['model'], str) or record['model'] not in models.MODELS:
        fail(f'unknown model {record["model"]!r}')
    if not isinstance(record['config'], dict) or not isinstance(record['data'], dict):
        fail('config and data must be JSON objects')
    data = record['data']
    if set(data) != {'name', 'source', 'image_shape', 'num_classes', 'class_names', 'num_examples'}:
        fail('data must have name, source, image_shape, num_classes, class_names and num_examples')
    try:
        checked_name(data['name'])
    except ValueError:
        fail(f'data name {data["name"]!r} is not a short name of letters, digits, ".", "_" or "-"')
    if not isinstance(data['source'], str):
        fail('data source must be a string')
    for key in ('num_classes', 'num_examples'):
        if not _is_int(data[key]) or data[key] < 0:
            fail(f'{key} must be a non-negative integer')
    names = data['class_names']
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)
                                  and len(names) == data['num_classes']):
        fail('class_names must be null or a list of num_classes strings')
    if 'image_shape' not in record['config']:
        fail('config must have the image_shape the GAN was built for')
    problem = _image_shape_problem(data['image_shape']) or settings_problem(record['model'], record['config'])
    if problem:
        fail(problem)


def _not_a_record(path, problem):
    return f'{path} is not a tfgan2 run record: {problem}. Restore it from a copy, or train in a new folder.'


def check_settings(kind, settings):
    """Refuses settings of a `kind` GAN (hyperparameters, image_shape, num_classes) of the
    wrong type or beyond the bounds above, in one `ConfigError`, before anything is built."""
    problem = settings_problem(kind, settings)
    if problem:
        raise errors.ConfigError(f'{problem}.')


def settings_problem(kind, settings):
    """What is wrong with `settings` for a `kind` GAN, or None (see `check_settings`): the
    model's declarations (`HYPERPARAMETERS`) check names and types, then the shared ranges and
    the estimated size are checked here."""
    if 'image_shape' in settings:
        problem = _image_shape_problem(settings['image_shape'])
        if problem:
            return problem
    if 'num_classes' in settings and (not _is_int(settings['num_classes']) or settings['num_classes'] < 0):
        return f'num_classes={settings["num_classes"]!r} is not a whole number of at least 0'
    if settings.get('num_classes', 0) > MAX_CLASSES:
        return f'num_classes={settings["num_classes"]}: use at most {MAX_CLASSES}'
    given = {name: value for name, value in settings.items() if name not in ('image_shape', 'num_classes')}
    try:
        resolved = hp.resolve(models.model_class(kind).HYPERPARAMETERS, given, kind)
    except errors.ConfigError as e:
        return str(e).rstrip('.')
    for name in given:
        value = resolved[name]
        if isinstance(value, float) and not math.isfinite(value):
            return f'{name}={value}: use a finite number'
        problem = _range_problem(name, value)
        if problem:
            return problem
    if 'image_shape' in settings:
        return _size_problem({**resolved, 'num_classes': settings.get('num_classes', 0),
                              'image_shape': settings['image_shape']})
    return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _range_problem(name, value):
    """Ranges every GAN here shares: counts and sizes are not negative, the noise and the
    kernel have at least one element, widths are positive, dropout is a rate."""
    if name in ('noise_dim', 'kernel_size') and value < 1:
        return f'{name}={value}: use a value of at least 1'
    if _is_int(value) and value < 0:
        return f'{name}={value}: use a value of at least 0'
    if name.endswith('_widths') and value is not None and any(width < 1 for width in value):
        return f'{name}={",".join(map(str, value))}: use positive widths'
    if name.endswith('_widths') and value is not None and len(value) > MAX_LAYERS:
        return f'{name} lists {len(value)} widths: use at most {MAX_LAYERS} layers'
    if name == 'dropout' and value is not None and not 0 <= value < 1:
        return f'dropout={value}: use a value in [0, 1)'
    if name in _LABEL_COUNTS and value is not None and value > MAX_CLASSES:
        return f'{name}={value}: use at most {MAX_CLASSES}'
    return None


def _image_shape_problem(shape):
    if not (isinstance(shape, (list, tuple)) and len(shape) == 3 and all(_is_int(side) for side in shape)
            and 1 <= min(shape[:2]) and max(shape[:2]) <= MAX_IMAGE_SIDE and 1 <= shape[2] <= 4):
        return (f'image_shape={shape!r} is not [height, width, channels] with sides from 1 to {MAX_IMAGE_SIDE} and '
                f'1 to 4 channels')
    return None


def _size_problem(settings):
    """Refuses settings whose networks would have more than MAX_WEIGHTS weights, estimated from
    the widths, kernel, noise and code (the embeddings and heads of labels and codes included)."""
    shape, count = tuple(settings['image_shape']), settings.get('stages')
    try:
        _, (height, width) = networks.stages(shape, count)
    except errors.ConfigError as e:
        return str(e).rstrip('.')
    generator = settings.get('generator_widths') or networks.default_widths(shape, 'generator', count)
    discriminator = settings.get('discriminator_widths') or networks.default_widths(shape, 'discriminator', count)
    kernel = settings.get('kernel_size') or 4
    code = settings.get('code_dim') or 0
    noise = (settings.get('noise_dim') or 100) + code  # the generator's input vector
    labels = max([settings.get(name) or 0 for name in _LABEL_COUNTS])

    def convolutions(widths):
        return kernel * kernel * sum(a * b for a, b in zip(widths, widths[1:]))

    estimates = {
        'generator': ((noise + labels) * height * width * generator[0] + labels * noise
                      + convolutions([*generator, shape[2]])),
        'discriminator': (convolutions([shape[2], *discriminator])
                          + discriminator[-1] * height * width * (1 + 2 * labels + code))}
    for network, weights in estimates.items():
        if weights > MAX_WEIGHTS:
            return (f'these settings make a {network} of about {weights:.2g} weights, more than {MAX_WEIGHTS:.2g}; '
                    f'use smaller widths, noise_dim, code_dim, kernel_size or label counts')
    return None


def load_run(model_dir: str | os.PathLike, checkpoint: str | None = None) -> models.GAN:
    """The GAN trained in `model_dir`, with the networks of its newest readable checkpoint (or
    of `checkpoint`): ready to sample, evaluate or export."""
    return RunDir(model_dir).load_gan(checkpoint)
