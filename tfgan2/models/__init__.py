"""One GAN per module; `build_gan` picks one by name, `load_gan` rebuilds a trained one."""

import json
import os

import tensorflow as tf

from tfgan2.models.acgan import ACGAN
from tfgan2.models.cgan import CGAN
from tfgan2.models.dcgan import DCGAN
from tfgan2.models.infogan import InfoGAN

MODELS = {'dcgan': DCGAN, 'cgan': CGAN, 'acgan': ACGAN, 'infogan': InfoGAN}

SPEC_FILE = 'gan.json'


def build_gan(name, image_shape, num_classes, **hyperparameters):
    """Builds the GAN called `name` for images of `image_shape` and `num_classes` classes.

    The returned GAN's `spec` (a JSON-able dict) is everything needed to build it again."""
    if name not in MODELS:
        raise ValueError(f'Unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}.')
    gan = MODELS[name](tuple(image_shape), num_classes=num_classes, **hyperparameters)
    gan.build()
    gan.spec = {'model': name, 'image_shape': list(image_shape), 'num_classes': num_classes,
                'hyperparameters': {k: list(v) if isinstance(v, tuple) else v
                                    for k, v in hyperparameters.items()}}
    return gan


def load_gan(model_dir, checkpoint_path=None):
    """Rebuilds the GAN trained in `model_dir` and restores its networks from the latest
    (or the given) checkpoint; optimizer state is left out."""
    spec_path = os.path.join(model_dir, SPEC_FILE)
    if not os.path.exists(spec_path):
        raise ValueError(f'{model_dir} has no {SPEC_FILE}: it is not a tfgan2 training run '
                         f'(train one with tfgan2-train --model_dir={model_dir}).')
    with open(spec_path) as f:
        spec = json.load(f)
    gan = build_gan(spec['model'], spec['image_shape'], spec['num_classes'], **spec['hyperparameters'])
    checkpoint_path = checkpoint_path or tf.train.latest_checkpoint(os.path.join(model_dir, 'checkpoints'))
    if not checkpoint_path:
        raise ValueError(f'{model_dir} has no checkpoint yet; train first or pass a checkpoint path.')
    tf.train.Checkpoint(generator=gan.generator, discriminator=gan.discriminator).restore(
        checkpoint_path).expect_partial().assert_existing_objects_matched()
    return gan
