"""Exports a trained generator as a versioned SavedModel that TensorFlow Serving loads.

Layout: `EXPORT_BASE/<model_name>/<version>/` with a positive integer version (the server
ignores other folder names and serves the highest), and `EXPORT_BASE/models.config`, the
server's `--model_config_file` listing every model that has a version, rewritten on each export.
All file operations go through `tf.io.gfile`, so EXPORT_BASE may be local, `gs://` or `ram://`.

Signatures (inputs and outputs named, batch dimension -1, method `tensorflow/serving/predict`):
- `serving_default`: the generator's latents (`noise`, plus `label` / `code` for conditional
  models) -> `images` float32 [-1, H, W, C] in [0, 1].
- `from_seed`: `label` int32 [-1] (unconditional models: `num_images` int32 scalar) and `seed`
  int64 scalar -> `images`; latents drawn in the graph with stateless random ops, so the
  same seed gives the same images on every call, server and replica.
- `png_from_seed`: the same inputs -> `images_png_bytes`, one PNG per image (the `_bytes`
  suffix makes TF Serving's REST API return them as `{"b64": ...}`).
Inputs are checked in the graph and refused with InvalidArgument naming the input: more than
`max_batch` images asked for (checked before anything sized by the request is allocated, since
one server process serves every model), a label outside [0, num_classes), NaN or inf in a float
input, or inputs with different batch sizes.

Publishing (what a polling server, or a reader, can see):
- A version is written into a hidden sibling `.tmp-<version>-<random>` and then moved into place.
  Locally the move is one rename, so the version appears complete or not at all. Object stores
  have no folder rename: the files are copied with `saved_model.pb` last, so a version folder
  holding `saved_model.pb` is always complete.
- `overwrite=True` swaps the new folder with the old one atomically where Linux's
  renameat2(RENAME_EXCHANGE) works (local disks), so version N never disappears. Elsewhere the
  old folder is first moved aside to `.old-<version>`: if the process dies before the new one is
  in place, N is missing until the next export of that model, which moves the old one back.
"""

import ctypes
import errno
import json
import os
import re
import sys
import uuid
from typing import TYPE_CHECKING

import tensorflow as tf

from tfgan2 import errors, rng, storage

if TYPE_CHECKING:
    from tfgan2.models import GAN

SERVING_DEFAULT = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
FROM_SEED = 'from_seed'
PNG_FROM_SEED = 'png_from_seed'
SIGNATURES = (SERVING_DEFAULT, FROM_SEED, PNG_FROM_SEED)

IMAGES = 'images'
PNG_IMAGES = 'images_png_bytes'
NOISE = 'noise'
SEED = 'seed'
NUM_IMAGES = 'num_images'
LABEL = 'label'

# Images one request may ask for: bounds a request's peak server memory to tens of MB for 28x28
# generators at their default size (per-image peak measured in benchmarks/RESULTS.md, section 3),
# and is above what tfgan2's own callers ask for at once (evaluation draws 500 per call).
DEFAULT_MAX_BATCH = 1024
SERVER_CONFIG = 'models.config'
# Where the README's docker command mounts the export base inside the server's container.
DEFAULT_SERVER_BASE = '/models'

# Requests count images in int32; TF Serving numbers versions in int64.
MAX_INT32 = 2**31 - 1
MAX_VERSION = 2**63 - 1

SAVED_MODEL_PB = 'saved_model.pb'
_STAGING_PREFIX = '.tmp-'
_RETIRED = re.compile(r'\.old-([0-9]+)')
_MODEL_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*')


# ---- The signatures and their in-graph input checks ----

def _after(checks, tensor):
    """`tensor`, readable only once `checks` have passed."""
    with tf.control_dependencies(checks):
        return tf.identity(tensor)


def _batch_cap(size, max_batch, name):
    """An in-graph check that `size`, the images input `name` asks for, is at most `max_batch`."""
    return tf.debugging.assert_less_equal(
        size, tf.constant(max_batch, size.dtype),
        message=f'{name} asks for more than max_batch={max_batch} images in one request: split the '
                f'request, or export again with a larger max_batch (tfgan2-export --max_batch)')


def _checked_labels(label, num_classes):
    """`label` after in-graph checks that every value is a class index."""
    message = f'{LABEL} must hold class indices in [0, {num_classes})'
    return _after([tf.debugging.assert_non_negative(label, message=message),
                   tf.debugging.assert_less(label, tf.constant(num_classes, tf.int32), message=message)],
                  label)


def _checked_num_images(count, max_batch):
    """The `num_images` input after in-graph checks that it is in [0, max_batch]."""
    return _after([tf.debugging.assert_non_negative(count, message=f'{NUM_IMAGES} must be >= 0'),
                   _batch_cap(count, max_batch, NUM_IMAGES)], count)


def _checked_latent(latent, num_classes, max_batch):
    """A `serving_default` request after in-graph checks: at most `max_batch` rows, as many in
    every input as in the first, labels in range, float inputs free of NaN and inf."""
    first, *others = latent
    rows = tf.shape(latent[first])[0]
    batch_checks = [_batch_cap(rows, max_batch, first)] + [tf.debugging.assert_equal(
        tf.shape(latent[name])[0], rows,
        message=f'{name} and {first} must have the same batch size (one row per image)') for name in others]
    checked = {}
    for name, value in latent.items():
        value = _after(batch_checks, value)
        if name == LABEL:
            value = _checked_labels(value, num_classes)
        elif value.dtype.is_floating:
            value = tf.debugging.check_numerics(value, f'{name} must hold finite numbers, not NaN or inf')
        checked[name] = value
    return checked


def _to_unit_range(images):
    """Generator output in [-1, 1] -> float32 in [0, 1], what image clients expect."""
    return (images + 1.0) * 0.5


def _encode_pngs(images):
    """[B, H, W, C] floats in [0, 1] -> [B] PNG strings (pixels rounded as in artifacts.to_uint8)."""
    pixels = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)
    return tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.TensorSpec([], tf.string))


def _seed_inputs(gan):
    """Input specs of the seeded signatures: the labels (or the image count) and the seed."""
    count = (tf.TensorSpec([None], tf.int32, name=LABEL) if gan.conditional
             else tf.TensorSpec([], tf.int32, name=NUM_IMAGES))
    return [count, tf.TensorSpec([], tf.int64, name=SEED)]


def _check_max_batch(max_batch):
    if not isinstance(max_batch, int) or isinstance(max_batch, bool) or not 1 <= max_batch <= MAX_INT32:
        raise errors.ExportError(f'max_batch={max_batch!r} is not a positive integer up to {MAX_INT32}; pass the most '
                                 f'images one request may ask for (default {DEFAULT_MAX_BATCH}).')


def serving_signatures(gan, max_batch=DEFAULT_MAX_BATCH):
    """{signature name: concrete function} for `gan.generator`; see the module docstring."""
    _check_max_batch(max_batch)
    latent_spec = gan.latent_spec()
    names = list(latent_spec)

    def generate(latent):
        return _to_unit_range(gan.generate(latent))

    def from_latent(*tensors):
        return {IMAGES: generate(_checked_latent(dict(zip(names, tensors)), gan.num_labels, max_batch))}

    def sample(count, seed):
        sampler = rng.StatelessSampler(seed)
        if gan.conditional:  # `count` is the labels.
            labels = _after([_batch_cap(tf.shape(count)[0], max_batch, LABEL)], count)
            labels = _checked_labels(labels, gan.num_labels)
            return generate(gan.sample_latent(sampler, tf.shape(labels)[0], labels=labels))
        return generate(gan.sample_latent(sampler, _checked_num_images(count, max_batch)))

    def from_seed(count, seed):
        return {IMAGES: sample(count, seed)}

    def png_from_seed(count, seed):
        return {PNG_IMAGES: _encode_pngs(sample(count, seed))}

    latent_inputs = [tf.TensorSpec(spec.shape, spec.dtype, name=name) for name, spec in latent_spec.items()]
    return {
        SERVING_DEFAULT: tf.function(from_latent, input_signature=latent_inputs).get_concrete_function(),
        FROM_SEED: tf.function(from_seed, input_signature=_seed_inputs(gan)).get_concrete_function(),
        PNG_FROM_SEED: tf.function(png_from_seed, input_signature=_seed_inputs(gan)).get_concrete_function(),
    }


def _variable_holder(functions):
    """A module tracking exactly the `tf.Variable`s that `functions` read.

    Not the Keras model: Keras 3 wraps each tf.Variable in a `keras.Variable` that SavedModel
    writes as a second, separate variable, and the TF1 loader that TF Serving uses would then
    restore the wrappers while the signatures read the never-restored originals."""
    holder = tf.Module()
    holder.generator_variables = list({id(v): v for fn in functions for v in fn.variables}.values())
    return holder


# ---- Reading exports ----

def _children(folder):
    """Names in `folder` (object stores list sub-folders with a trailing '/')."""
    return [name.rstrip('/') for name in tf.io.gfile.listdir(folder)]


def _is_complete(folder):
    return tf.io.gfile.exists(storage.join(folder, SAVED_MODEL_PB))


def versions(model_base):
    """The version numbers exported under `model_base`, ascending (what TF Serving would see)."""
    if not tf.io.gfile.isdir(model_base):
        return []
    return sorted(int(name) for name in _children(model_base)
                  if re.fullmatch('[0-9]+', name) and int(name) > 0
                  and tf.io.gfile.isdir(storage.join(model_base, name)))


def exported_models(export_base):
    """Names of the models under `export_base` that have at least one version, sorted."""
    if not tf.io.gfile.isdir(export_base):
        return []
    return sorted(name for name in _children(export_base)
                  if _MODEL_NAME.fullmatch(name) and versions(storage.join(export_base, name)))


def resolve_saved_model(path):
    """`path` if it holds a SavedModel, else its highest numbered version (the one TF Serving serves)."""
    if _is_complete(path):
        return path
    found = versions(path)
    if not found:
        raise errors.ExportError(f'{path} holds no SavedModel and no numbered version folders; point at an '
                                 f'export from tfgan2-export (EXPORT_BASE/<model_name>[/<version>]).')
    highest = storage.join(path, str(found[-1]))
    if not _is_complete(highest):
        others = f'one of versions {", ".join(map(str, found[:-1]))}' if found[:-1] else 'another export'
        raise errors.ExportError(f'{highest}, the highest version under {path}, has no {SAVED_MODEL_PB} (an '
                                 f'unfinished copy, or not an export); remove it, or point at {others}.')
    return highest


def load_saved_model(path):
    """`tf.saved_model.load` of `resolve_saved_model(path)`, with one clear error when the files
    are not a readable SavedModel. Loading runs the export's graph: only load trusted exports."""
    path = resolve_saved_model(path)
    try:
        return tf.saved_model.load(path)
    except (OSError, ValueError, tf.errors.OpError) as e:
        raise errors.ExportError(f'{path} is not a readable SavedModel ({storage.error_line(e)}); export it again with '
                                 f'tfgan2-export, or point at another version.') from None


# ---- Publishing ----

def _move(source, destination):
    """Moves folder `source` to `destination`, which must not exist; see the module docstring."""
    if tf.io.gfile.exists(destination):
        raise tf.errors.AlreadyExistsError(None, None, f'{destination} already exists')
    if storage.is_local(source):
        tf.io.gfile.rename(source, destination)
        return
    files = []
    for folder, _, names in tf.io.gfile.walk(source):
        tf.io.gfile.makedirs(destination + folder[len(source):])
        files += [storage.join(folder, name) for name in names]
    files.sort(key=lambda file: file == storage.join(source, SAVED_MODEL_PB))  # saved_model.pb last...
    for file in files:
        tf.io.gfile.copy(file, destination + file[len(source):])
    for file in reversed(files):  # ...and first to go, so `source` is never complete but partial.
        tf.io.gfile.remove(file)
    tf.io.gfile.rmtree(source)


def _exchange(first, second):
    """Swaps two local folders in one step with Linux's renameat2(RENAME_EXCHANGE); False where
    that is not available (another system or filesystem, or an object store)."""
    if not (storage.is_local(first) and sys.platform.startswith('linux')):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), 'renameat2', None)
    if renameat2 is None:
        return False
    at_cwd, rename_exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), second)


def _retired(target):
    folder, version = target.rsplit('/', 1)
    return storage.join(folder, f'.old-{version}')


def _replace(staging, target):
    """Puts the finished `staging` folder in place of the existing version folder `target`;
    `staging` holds the old version afterwards (or is gone)."""
    if _exchange(staging, target):
        return
    retired = _retired(target)
    _move(target, retired)
    try:
        _move(staging, target)
    except BaseException:
        _recover_retired(target.rsplit('/', 1)[0])
        raise
    tf.io.gfile.rmtree(retired)


def _recover_retired(model_base):
    """Finishes or undoes an overwrite cut short between its two moves: a retired `.old-N`
    goes back to N when N is missing or incomplete, and is deleted otherwise."""
    for name in _children(model_base):
        match = _RETIRED.fullmatch(name)
        if not match:
            continue
        retired, version = storage.join(model_base, name), storage.join(model_base, match[1])
        if _is_complete(version) or not _is_complete(retired):
            tf.io.gfile.rmtree(retired)
            continue
        if tf.io.gfile.exists(version):
            tf.io.gfile.rmtree(version)
        _move(retired, version)


def _publish(staging, target, overwrite):
    """Moves the finished `staging` folder to `target`, replacing it only if `overwrite`."""
    try:
        if overwrite and tf.io.gfile.exists(target):
            _replace(staging, target)
        else:
            _move(staging, target)
    except (OSError, tf.errors.OpError) as e:
        raise errors.ExportError(f'Could not publish {target} ({storage.error_line(e)}). Another export may '
                                 f'have written this version meanwhile; export again without a version to get '
                                 f'the next one.') from None


def write_server_config(export_base, server_base=DEFAULT_SERVER_BASE):
    """Writes `export_base`/models.config (a text ModelServerConfig for TF Serving's
    --model_config_file) listing exactly the models that have a version, each with base_path
    `server_base`/<name>: the export base as the server sees it. Returns its path."""
    # Written as text here, so exporting needs no tensorflow-serving-api; names are checked by
    # _MODEL_NAME, and the base path is a JSON string, which text protos read the same way.
    base_path = lambda name: json.dumps(storage.join(server_base, name), ensure_ascii=False)
    entries = ''.join(f'  config {{\n    name: "{name}"\n    base_path: {base_path(name)}\n'
                      f'    model_platform: "tensorflow"\n  }}\n' for name in exported_models(export_base))
    path = storage.join(export_base, SERVER_CONFIG)
    storage.write_atomically(path, f'# Written by tfgan2-export on every export: the models with a version in '
                                   f'this folder, as the server sees it at {server_base}.\n'
                                   f'model_config_list {{\n{entries}}}\n')
    return path


def _check_arguments(model_name, version, max_batch):
    if not (isinstance(model_name, str) and _MODEL_NAME.fullmatch(model_name)) or model_name == SERVER_CONFIG:
        raise errors.ExportError(f'model_name={model_name!r} is not usable as a TF Serving model name: use '
                                 f'letters, digits, "_", "-" or "." (e.g. "dcgan").')
    if version is not None and (not isinstance(version, int) or not 1 <= version <= MAX_VERSION):
        raise errors.ExportError(f'version={version!r} is not a positive integer up to {MAX_VERSION}; TF Serving '
                                 f'only loads folders named 1, 2, 3, ...')
    _check_max_batch(max_batch)


def _make_folder(path, export_base):
    """Creates `path` (and its parents) in `export_base`, with one clear error when it cannot."""
    if tf.io.gfile.exists(export_base) and not tf.io.gfile.isdir(export_base):
        raise errors.ExportError(f'export_base={export_base} is a file; pass a folder (it is created if missing).')
    try:
        tf.io.gfile.makedirs(path)
    except tf.errors.OpError as e:
        raise errors.ExportError(f'Cannot create {path} ({storage.error_line(e)}); pass an export_base '
                                 f'you can write to.') from None


def export_generator(gan: 'GAN', export_base: str, model_name: str, version: int | None = None,
                     overwrite: bool = False, max_batch: int = DEFAULT_MAX_BATCH,
                     server_base: str = DEFAULT_SERVER_BASE) -> str:
    """Writes `gan`'s generator to `export_base/model_name/version`, then rewrites
    `export_base`/models.config (see `write_server_config`); returns the version's path.

    `version` defaults to one past the highest existing one (1 for a new model). An existing
    version is refused unless `overwrite`; it is then replaced as the module docstring says.
    Requests asking for more than `max_batch` images are refused by the exported graph."""
    _check_arguments(model_name, version, max_batch)
    model_base = storage.join(export_base, model_name)
    _make_folder(model_base, export_base)
    _recover_retired(model_base)
    version = version or (versions(model_base) or [0])[-1] + 1
    target = storage.join(model_base, str(version))
    if tf.io.gfile.exists(target) and not overwrite:
        raise errors.ExportError(f'{target} already exists. Pass another version, leave the version out to '
                                 f'get the next free one, or overwrite it explicitly (overwrite=True).')
    # Hidden and not a number, so TF Serving never tries to load it.
    staging = storage.join(model_base, f'{_STAGING_PREFIX}{version}-{uuid.uuid4().hex[:8]}')
    try:
        _make_folder(staging, export_base)
        signatures = serving_signatures(gan, max_batch)
        try:
            tf.saved_model.save(_variable_holder(signatures.values()), staging, signatures=signatures)
        except (OSError, tf.errors.OpError) as e:  # a full disk, a folder that turned read-only
            raise errors.ExportError(f'Cannot write {target} ({storage.error_line(e)}); free space on its disk or '
                                     f'pass an export_base you can write to.') from None
        _publish(staging, target, overwrite)
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
    write_server_config(export_base, server_base)
    return target
