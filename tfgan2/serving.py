"""The calling side of the exported signatures (see tfgan2.export): turns a request for
"`num` images of each of these labels, from this seed" into a signature's inputs, and its
outputs back into images and a grid. Shared by `tfgan2-generate` (a SavedModel on disk) and
serving/client.py (TF Serving over gRPC or REST), so both send the same inputs.
"""

import math
import typing

import numpy as np
import tensorflow as tf

from tfgan2 import artifacts, errors, export


class Request(typing.NamedTuple):
    """A signature call: its inputs, the grid rows the images fill and how many images it asks for."""
    inputs: dict  # {input name: numpy array}
    rows: int
    count: int


def input_specs(signature_def):
    """{input name: tf.TensorSpec} of a `SignatureDef` proto (what a server's metadata gives)."""
    return {name: tf.TensorSpec(tf.TensorShape(info.tensor_shape), tf.dtypes.as_dtype(info.dtype), name)
            for name, info in signature_def.inputs.items()}


def signature_inputs(specs, labels, num, seed):
    """The `Request` for a signature with input `specs` ({name: tf.TensorSpec}): `num` images of
    each of `labels` (conditional models) or `num` images (unconditional ones).

    The seed is the signature's own `seed` input where it has one; otherwise it seeds the
    `noise` drawn here (standard normal, the generators' prior). Other float latents
    (InfoGAN's continuous `code`) are set to 0, the centre of their prior."""
    labels = [int(label) for label in labels or []]
    if num < 1:
        raise errors.ConfigError(f'Ask for at least one image per row (got num={num}).')
    if export.LABEL in specs and not labels:
        raise errors.ConfigError('This model draws the class it is asked for: pass the classes to draw, '
                                 'e.g. --label=0,1,2 (one grid row of --num images per class).')
    if labels and export.LABEL not in specs:
        raise errors.ConfigError(f'This signature takes no label (inputs: {", ".join(sorted(specs))}); '
                                 f'the model is unconditional, so leave --label out.')
    batch = len(labels) * num if labels else num
    noise_rng = np.random.default_rng(seed)
    inputs = {}
    for name, spec in specs.items():
        if name == export.LABEL:
            inputs[name] = np.repeat(np.asarray(labels, np.int32), num)
        elif name == export.SEED:
            inputs[name] = np.int64(seed)
        elif name == export.NUM_IMAGES:
            inputs[name] = np.int32(batch)
        elif spec.dtype == tf.float32 and spec.shape.rank == 2:
            shape = [batch, spec.shape[1]]
            inputs[name] = (noise_rng.standard_normal(shape) if name == export.NOISE else np.zeros(shape)
                            ).astype(np.float32)
        else:
            raise errors.ConfigError(f'Input {name!r} ({spec.dtype.name} {spec.shape}) is not one of a tfgan2 '
                                     f'export; is this SavedModel from tfgan2-export?')
    rows = len(labels) if labels else max(1, round(math.sqrt(batch)))
    return Request(inputs, rows, batch)


def output_images(outputs, count):
    """Float32 [N, H, W, C] images in [0, 1] from a signature's outputs (float or PNG), checked
    to be the `count` images asked for."""
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
        return np.stack([tf.io.decode_png(png).numpy() for png in images]).astype(np.float32) / 255.0
    return images.astype(np.float32)


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
