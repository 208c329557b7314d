"""The calling side of the exported signatures (see tfgan2.export): turns a request for
"`num` images of each of these labels, from this seed" into a signature's inputs, and its
outputs back into images and a grid. Shared by `tfgan2-generate` (a SavedModel on disk) and
serving/client.py (TF Serving over gRPC or REST), so both send the same inputs.
"""

import math
import struct
import typing

import numpy as np
import tensorflow as tf

from tfgan2 import artifacts, errors, export
from tfgan2.data.convert import MAX_IMAGE_SIDE

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class Request(typing.NamedTuple):
    """A signature call: its inputs, the grid rows the images fill and how many images it asks for."""
    inputs: dict  # {input name: numpy array}
    rows: int
    count: int


# The most latent values drawn here for one request (256 MB of float32): far above what the
# largest request an export takes (its max_batch) needs, far below what would exhaust memory.
MAX_DRAWN_VALUES = 1 << 26


def input_specs(signature_def):
    """{input name: tf.TensorSpec} of a `SignatureDef` proto (what a server's metadata gives);
    a dtype or shape no TensorFlow signature has is refused in one `ConfigError`."""
    specs = {}
    for name, info in signature_def.inputs.items():
        try:
            specs[name] = tf.TensorSpec(tf.TensorShape(info.tensor_shape), tf.dtypes.as_dtype(info.dtype), name)
        except (TypeError, ValueError):
            raise errors.ConfigError(f'The signature\'s input {name!r} has a type or shape TensorFlow does not know '
                                     f'(dtype {info.dtype}); is this a tfgan2 export?') from None
    return specs


def signature_inputs(specs, labels, num, seed):
    """The `Request` for a signature with input `specs` ({name: tf.TensorSpec}): `num` images of
    each of `labels` (conditional models) or `num` images (unconditional ones).

    The seed is the signature's own `seed` input where it has one; otherwise it seeds the
    `noise` drawn here (standard normal, the generators' prior). Other float latents
    (InfoGAN's continuous `code`) are set to 0, the centre of their prior."""
    labels = _checked_labels(labels)
    if not 1 <= num <= export.MAX_INT32:
        raise errors.ConfigError(f'Ask for 1 to {export.MAX_INT32} images per row (got num={num}).')
    if not 0 <= seed < 2**63:
        raise errors.ConfigError(f'seed={seed}: use a seed in [0, 2**63).')
    if export.LABEL in specs and not labels:
        raise errors.ConfigError('This model draws the class it is asked for: pass the classes to draw, '
                                 'e.g. --label=0,1,2 (one grid row of --num images per class).')
    if labels and export.LABEL not in specs:
        raise errors.ConfigError(f'This signature takes no label (inputs: {", ".join(sorted(specs))}); '
                                 f'the model is unconditional, so leave --label out.')
    batch = len(labels) * num if labels else num
    if batch > export.MAX_INT32:
        raise errors.ConfigError(f'{len(labels)} labels of num={num} images each ask for {batch} images, more than '
                                 f'a request can count; ask for fewer.')
    noise_rng = np.random.default_rng(seed)
    inputs = {}
    expected = {export.LABEL: (tf.int32, 1), export.SEED: (tf.int64, 0), export.NUM_IMAGES: (tf.int32, 0)}
    for name, spec in specs.items():
        if name in expected and (spec.dtype, spec.shape.rank) != expected[name]:
            raise errors.ConfigError(f'Input {name!r} is {spec.dtype.name} {spec.shape}, not as a tfgan2 export '
                                     f'declares it; is this SavedModel from tfgan2-export?')
        if name == export.LABEL:
            inputs[name] = np.repeat(np.asarray(labels, np.int32), num)
        elif name == export.SEED:
            inputs[name] = np.int64(seed)
        elif name == export.NUM_IMAGES:
            inputs[name] = np.int32(batch)
        elif spec.dtype == tf.float32 and spec.shape.rank == 2 and spec.shape[1] is not None:
            shape = [batch, spec.shape[1]]
            if batch * shape[1] > MAX_DRAWN_VALUES:
                raise errors.ConfigError(f'{batch} images of {name} {shape[1]} wide are more than one request '
                                         f'may hold; ask for fewer images.')
            inputs[name] = (noise_rng.standard_normal(shape) if name == export.NOISE else np.zeros(shape)
                            ).astype(np.float32)
        else:
            raise errors.ConfigError(f'Input {name!r} ({spec.dtype.name} {spec.shape}) is not one of a tfgan2 '
                                     f'export; is this SavedModel from tfgan2-export?')
    rows = len(labels) if labels else max(1, round(math.sqrt(batch)))
    return Request(inputs, rows, batch)


def _checked_labels(labels):
    """The class indices asked for (strings from a flag, or ints), as ints an int32 input holds."""
    try:
        labels = [int(label) for label in labels or []]
    except (TypeError, ValueError):
        raise errors.ConfigError(f'label={",".join(map(str, labels))}: give class indices, whole numbers separated '
                                 f'by commas, e.g. 0,1,2.') from None
    if any(not 0 <= label <= export.MAX_INT32 for label in labels):
        raise errors.ConfigError(f'label={",".join(map(str, labels))}: class indices are from 0 up.')
    return labels


def output_images(outputs, count):
    """Float32 [N, H, W, C] images in [0, 1] from a signature's outputs (float or PNG), checked
    to be the `count` images asked for, all of one size, with finite pixels: anything else is
    an answer no tfgan2 export gives, refused in one `ConfigError`."""
    name = next((name for name in (export.IMAGES, export.PNG_IMAGES) if name in outputs), None)
    if name is None:
        raise errors.ConfigError(f'No images among the outputs {sorted(outputs)}; expected {export.IMAGES!r} '
                                 f'or {export.PNG_IMAGES!r}.')
    images = np.asarray(outputs[name])
    answered = len(images) if images.ndim else 0
    if answered != count:
        raise errors.ConfigError(f'Asked for {count} images, the model answered with {answered}; it does not '
                                 f'answer as a tfgan2 export does (is it the model and server you meant?).')
    if name == export.PNG_IMAGES:
        images = np.asarray([_decoded_png(png, i) for i, png in enumerate(images.reshape(-1))], dtype=object)
        if len({image.shape for image in images}) > 1:
            raise errors.ConfigError(f'The model answered PNGs of different sizes ({images[0].shape[:2]} and '
                                     f'others); a tfgan2 export draws images of one size.')
        images = np.stack(list(images)).astype(np.float32) / 255.0
    elif images.dtype.kind not in 'fiu':
        raise errors.ConfigError(f'The model answered {export.IMAGES!r} as {images.dtype} values, not pixels.')
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or 0 in images.shape:
        raise errors.ConfigError(f'The model answered images of shape {list(images.shape)}, not [N, height, width, '
                                 f'1 or 3 channels] as a tfgan2 export does.')
    if not np.isfinite(images).all():
        raise errors.ConfigError('The model answered images with NaN or infinite pixels; is the export damaged '
                                 '(export it again), or the server not a tfgan2 export\'s?')
    return images.astype(np.float32)


def _decoded_png(png, index):
    """Image `index` of a PNG output, decoded; bytes that are not a PNG are named."""
    if not isinstance(png, bytes):
        raise errors.ConfigError(f'The model answered image {index} as {type(png).__name__}, not PNG bytes.')
    if png[:8] == _PNG_SIGNATURE and png[12:16] == b'IHDR' and len(png) >= 24:
        width, height = struct.unpack('>II', png[16:24])
        if max(width, height) > MAX_IMAGE_SIDE:  # decoding would allocate what the header claims
            raise errors.ConfigError(f'The model answered image {index} as a PNG of {width}x{height} pixels, larger '
                                     f'than any tfgan2 export draws ({MAX_IMAGE_SIDE} px a side).')
    try:
        return tf.io.decode_png(png).numpy()
    except tf.errors.OpError:
        raise errors.ConfigError(f'The model answered image {index} as {len(png)} bytes that are not a PNG '
                                 f'({png[:8]!r}...).') from None


def generate(function, labels, num, seed):
    """Calls a signature of a loaded SavedModel (`export.load_saved_model(path).signatures[name]`)
    for `num` images of each of `labels`; returns (images in [0, 1], grid rows)."""
    request = signature_inputs(function.structured_input_signature[1], labels, num, seed)
    outputs = function(**{name: tf.constant(value) for name, value in request.inputs.items()})
    images = output_images({name: value.numpy() for name, value in outputs.items()}, request.count)
    return images, request.rows


def error_summary(message):
    """The line of a TensorFlow error message that says what was wrong with the request (the
    failed in-graph check, if one failed), without the graph-node noise around it."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    failed_checks = [line for line in lines if line.startswith('assertion failed')]
    useful = [line for line in lines if not line.startswith(('Graph execution error', '[[{{'))]
    return (failed_checks or useful or lines or ['(no message)'])[0]


def save_grid(images, rows, out):
    """Writes [N, H, W, C] images in [0, 1] as one grid PNG at `out`, `rows` rows, whole or not at all."""
    try:
        artifacts.save_png(out, artifacts.image_grid(np.asarray(images) * 2.0 - 1.0, rows))
    except (OSError, tf.errors.OpError) as e:
        reason = str(getattr(e, 'message', None) or getattr(e, 'strerror', None) or e).splitlines()[0]
        raise errors.ConfigError(f'Cannot write out={out} ({reason}); pass a path in a folder you can write to.'
                                 ) from None
