"""One GAN per module; `build_gan` picks one by name, `load_gan` rebuilds a trained one."""

import inspect
import json
import os

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from tfgan2.models.acgan import ACGAN
from tfgan2.models.cgan import CGAN
from tfgan2.models.dcgan import DCGAN
from tfgan2.models.infogan import InfoGAN

MODELS = {'dcgan': DCGAN, 'cgan': CGAN, 'acgan': ACGAN, 'infogan': InfoGAN}

SPEC_FILE = 'gan.json'
# The checkpoint entry holding the moving average of the generator's weights (tfgan2.train),
# which a trained GAN is rebuilt with.
AVERAGE_CHECKPOINT_KEY = 'generator_average'


# Defaults that changed after runs had recorded their spec without them: a gan.json that lacks
# the key was trained with this value.
FORMER_DEFAULTS = {'acgan': {'class_weight': 1.0},
                   'infogan': {'categorical_weight': 1.0, 'dropout': 0.3}}


def build_gan(name, image_shape, num_classes, **hyperparameters):
    """Builds the GAN called `name` for images of `image_shape` and `num_classes` classes.

    The returned GAN's `spec` (a JSON-able dict) is everything needed to build it again: every
    hyperparameter, defaults included, so a run keeps its values when a default changes."""
    if name not in MODELS:
        raise ValueError(f'Unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}.')
    gan = MODELS[name](tuple(image_shape), num_classes=num_classes, **hyperparameters)
    gan.build()
    complete = _complete_hyperparameters(name, hyperparameters)
    # A default of None is resolved by the model (e.g. InfoGAN's weights, by `supervised`): record
    # the value it chose, so that the run keeps it if that choice changes.
    complete.update({key: getattr(gan, key) for key, value in complete.items()
                     if value is None and getattr(gan, key, None) is not None})
    gan.spec = {'model': name, 'image_shape': list(image_shape), 'num_classes': num_classes,
                'hyperparameters': complete}
    return gan


def _complete_hyperparameters(name, *overrides):
    """Model `name`'s constructor defaults updated with each dict of `overrides` in turn, as JSON
    values (tuples become lists)."""
    complete = {key: parameter.default for key, parameter in inspect.signature(MODELS[name]).parameters.items()
                if key not in ('image_shape', 'num_classes')}
    for override in overrides:
        complete.update(override)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in complete.items()}


def read_spec(model_dir):
    """The spec recorded in `model_dir`'s gan.json. Hyperparameters an older tfgan2 did not record
    are filled in with the values it trained with (FORMER_DEFAULTS), else today's defaults."""
    with open(os.path.join(model_dir, SPEC_FILE)) as f:
        spec = json.load(f)
    return {**spec, 'hyperparameters': _complete_hyperparameters(
        spec['model'], FORMER_DEFAULTS.get(spec['model'], {}), spec['hyperparameters'])}


def load_gan(model_dir, checkpoint_path=None):
    """Rebuilds the GAN trained in `model_dir` and restores its networks from the latest
    (or the given) checkpoint; optimizer state is left out."""
    spec_path = os.path.join(model_dir, SPEC_FILE)
    if not os.path.exists(spec_path):
        raise ValueError(f'{model_dir} has no {SPEC_FILE}: it is not a tfgan2 training run '
                         f'(train one with tfgan2-train --model_dir={model_dir}).')
    spec = read_spec(model_dir)
    gan = build_gan(spec['model'], spec['image_shape'], spec['num_classes'], **spec['hyperparameters'])
    checkpoint_path = checkpoint_path or tf.train.latest_checkpoint(os.path.join(model_dir, 'checkpoints'))
    if not checkpoint_path:
        raise ValueError(f'{model_dir} has no checkpoint yet; train first or pass a checkpoint path.')
    # A run that averaged its generator's weights is rebuilt with the average: the generator that
    # its previews and evaluations showed.
    generator = ({AVERAGE_CHECKPOINT_KEY: gan.generator.weights}
                 if AVERAGE_CHECKPOINT_KEY in saved_objects(checkpoint_path) else {'generator': gan.generator})
    tf.train.Checkpoint(**generator, discriminator=gan.discriminator).restore(
        checkpoint_path).expect_partial().assert_existing_objects_matched()
    return gan


def saved_objects(checkpoint_path):
    """The names of the top-level objects in the checkpoint at `checkpoint_path`."""
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(checkpoint_path).get_tensor('_CHECKPOINTABLE_OBJECT_GRAPH'))
    return {child.local_name for child in graph.nodes[0].children}
