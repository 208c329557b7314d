"""Exports a trained generator as a versioned SavedModel that TensorFlow Serving loads.

Layout: `EXPORT_BASE/<model_name>/<version>/` with a positive integer version (the server
ignores other folder names and serves the highest). Each version is written into a hidden
temporary sibling and renamed into place, so a polling server never sees half an export.

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
"""

import os
import re
import shutil
import tempfile

import tensorflow as tf

from tfgan2 import artifacts
from tfgan2.models.base import StatelessRandom as _Sampler  # The one place the sampler is named.

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

_TEMP_PREFIX = '.tmp-'


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
    if not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1:
        raise ValueError(f'max_batch={max_batch!r} is not a positive integer; pass the most images one '
                         f'request may ask for (default {DEFAULT_MAX_BATCH}).')


def serving_signatures(gan, max_batch=DEFAULT_MAX_BATCH):
    """{signature name: concrete function} for `gan.generator`; see the module docstring."""
    _check_max_batch(max_batch)
    latent_spec = gan.latent_spec()
    names = list(latent_spec)

    def generate(latent):
        return _to_unit_range(gan.generate(latent, training=False))

    def from_latent(*tensors):
        return {IMAGES: generate(_checked_latent(dict(zip(names, tensors)), gan.num_classes, max_batch))}

    def sample(count, seed):
        sampler = _Sampler(seed)
        if gan.conditional:  # `count` is the labels.
            labels = _after([_batch_cap(tf.shape(count)[0], max_batch, LABEL)], count)
            labels = _checked_labels(labels, gan.num_classes)
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


def versions(model_base):
    """The version numbers exported under `model_base`, ascending (what TF Serving would see)."""
    if not os.path.isdir(model_base):
        return []
    return sorted(int(name) for name in os.listdir(model_base)
                  if name.isdigit() and int(name) > 0 and os.path.isdir(os.path.join(model_base, name)))


def resolve_saved_model(path):
    """`path` if it holds a SavedModel, else its highest numbered version (the one TF Serving serves)."""
    if os.path.exists(os.path.join(path, 'saved_model.pb')):
        return path
    found = versions(path)
    if not found:
        raise ValueError(f'{path} holds no SavedModel and no numbered version folders; point at an '
                         f'export from tfgan2-export (EXPORT_BASE/<model_name>[/<version>]).')
    return os.path.join(path, str(found[-1]))


def export_generator(gan, export_base, model_name, version=None, overwrite=False,
                     max_batch=DEFAULT_MAX_BATCH):
    """Writes `gan`'s generator to `export_base/model_name/version` and returns that path.

    `version` defaults to one past the highest existing one (1 for a new model). An existing
    version is refused unless `overwrite`; it is then replaced by renames, never rewritten in place.
    Requests asking for more than `max_batch` images are refused by the exported graph."""
    _check_max_batch(max_batch)
    if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.-]*', model_name or ''):
        raise ValueError(f'Model name {model_name!r} is not usable as a TF Serving model name: '
                         f'use letters, digits, "_", "-" or "." (e.g. "dcgan").')
    model_base = os.path.join(export_base, model_name)
    version = version if version is not None else (versions(model_base) or [0])[-1] + 1
    if not isinstance(version, int) or version < 1:
        raise ValueError(f'Version {version!r} is not a positive integer; TF Serving only loads '
                         f'folders named 1, 2, 3, ...')
    target = os.path.join(model_base, str(version))
    if os.path.exists(target) and not overwrite:
        raise ValueError(f'{target} already exists. Pass another version, leave the version out to '
                         f'get the next free one, or overwrite it explicitly (--overwrite).')
    os.makedirs(model_base, exist_ok=True)
    # Hidden and not a number, so TF Serving never tries to load it.
    staging = artifacts.publishable(tempfile.mkdtemp(prefix=f'{_TEMP_PREFIX}{version}-', dir=model_base))
    try:
        signatures = serving_signatures(gan, max_batch)
        tf.saved_model.save(_variable_holder(signatures.values()), staging, signatures=signatures)
        _move_into_place(staging, target, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _move_into_place(staging, target, overwrite):
    """Renames the finished `staging` folder to `target` (replacing it only if `overwrite`)."""
    if overwrite and os.path.exists(target):
        retired = tempfile.mkdtemp(prefix=f'{_TEMP_PREFIX}old-', dir=os.path.dirname(target))
        os.rename(target, os.path.join(retired, 'version'))
        os.rename(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
        return
    try:
        os.rename(staging, target)  # Fails rather than merge if another export took the version.
    except OSError as e:
        raise ValueError(f'Could not publish {target}: {e.strerror}. Another export may have '
                         f'written this version meanwhile; export again to get the next one.') from None
