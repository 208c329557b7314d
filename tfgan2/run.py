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
import os
import re

import tensorflow as tf

from tfgan2 import errors, models, storage
from tfgan2.data import checked_name

logger = logging.getLogger(__name__)

RECORD_FILE = 'gan.json'
CHECKPOINT_PREFIX = 'ckpt'
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
            record = json.loads(storage.read_text(self.record_path))
        except (ValueError, UnicodeDecodeError) as e:
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
            raise errors.RunError(f'{self.path} holds a run that differs in {"; ".join(differences)}. Continue '
                                  f'it with its own settings, or train in a new folder.')

    def build_gan(self):
        """A fresh GAN as the record describes it (weights not restored)."""
        record = self.read_record()
        config = record['config']
        return models.build_gan(record['model'], image_shape=config.pop('image_shape'),
                                num_classes=config.pop('num_classes', 0), **config)

    def checkpoints(self):
        """The checkpoint prefixes on disk, newest first, found by listing (not by the state
        file, which a crash or a person may have damaged)."""
        found = tf.io.gfile.glob(storage.join(self.checkpoint_dir, f'{CHECKPOINT_PREFIX}-*.index'))
        steps = sorted((int(m[1]) for m in (re.search(r'-(\d+)\.index$', p) for p in found) if m), reverse=True)
        return [storage.join(self.checkpoint_dir, f'{CHECKPOINT_PREFIX}-{step}') for step in steps]

    def load_gan(self, checkpoint=None):
        """The GAN of this run with the networks of `checkpoint` (default: the newest readable
        one); the optimizers' state is left out."""
        gan = self.build_gan()
        restore_newest({GAN_OBJECT: gan},
                       [checkpoint] if checkpoint else self.checkpoints(), self.path)
        return gan


def restore_newest(objects, candidates, run_path, optional=()):
    """Restores `objects` ({name: trackable}) from the first readable checkpoint among
    `candidates` (newest first), logging each damaged one it falls back past; returns its prefix.
    Objects named in `optional` (each the sole owner of its variables) may be absent from a
    checkpoint: they keep their values. A
    checkpoint that reads but does not fit the objects is a different model, not damage."""
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
        if problems:
            logger.warning('Restored %s, the newest readable checkpoint.', prefix)
        return prefix
    raise CheckpointError(f'No checkpoint of {run_path} can be read ({"; ".join(problems)}). Move the '
                          f'damaged files away to start over, or train in a new folder.')


def variable_owners(reader):
    """The top-level names under which a checkpoint (a checkpoint reader) saved
    variables. A variable reachable from several objects is saved under one of them only, so
    this tells whether an object that alone holds its variables (the loss scale) was saved."""
    return {key.split('/')[0] for key in reader.get_variable_to_shape_map()}


def _differences(saved, asked):
    return [f'{key} {saved.get(key)} (asked: {asked.get(key)})'
            for key in sorted({*saved, *asked}) if saved.get(key) != asked.get(key)]


def _check_record(record, path):
    """Checks gan.json's structure and names; the model's constructor checks the values."""
    def fail(problem):
        raise RunRecordError(f'{path} is not a tfgan2 run record: {problem}. Restore it from a copy, or '
                             f'train in a new folder.')

    if not isinstance(record, dict) or set(record) != {'model', 'config', 'data'}:
        fail('expected a JSON object with model, config and data')
    if record['model'] not in models.MODELS:
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
    names = data['class_names']
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        fail('class_names must be a list of strings or null')
    for key in ('num_classes', 'num_examples'):
        if not isinstance(data[key], int) or data[key] < 0:
            fail(f'{key} must be a non-negative integer')


def load_run(model_dir: str | os.PathLike, checkpoint: str | None = None) -> models.GAN:
    """The GAN trained in `model_dir`, with the networks of its newest readable checkpoint (or
    of `checkpoint`): ready to sample, evaluate or export."""
    return RunDir(model_dir).load_gan(checkpoint)
