"""Tiny GANs for the export and serving tests, saved as a training run (gan.json + checkpoint,
what tfgan2-export reads) and exported from that run.

Their generator weights, batch-norm statistics included, are drawn far from the initial ones:
outputs then span [0, 1] and differ clearly between inputs, so a mixed-up input, a wrong
checkpoint or batch statistics used in place of the moving ones all show."""

import json
import os

import numpy as np
import tensorflow as tf

from conftest import TINY_WIDTHS
from tfgan2 import export, models

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def randomize_generator(gan, seed):
    rng = np.random.default_rng(seed)
    for variable in gan.generator.variables:
        values = rng.normal(0.0, 0.4, variable.shape)
        if 'variance' in variable.name:
            values = np.abs(values) + 0.5
        variable.assign(values.astype(np.float32))


def save_run(gan, model_dir):
    """Writes `gan` as a training run that `models.load_gan(model_dir)` rebuilds."""
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, models.SPEC_FILE), 'w') as f:
        json.dump(gan.spec, f)
    tf.train.Checkpoint(generator=gan.generator, discriminator=gan.discriminator).save(
        os.path.join(model_dir, 'checkpoints', 'ckpt'))


def export_run(root, model, seed=0, version=None):
    """Builds `model`, randomizes it, saves it as a run under `root` and exports that run (as
    tfgan2-export does) to `root`/exports; returns (model_dir, export path)."""
    gan = models.build_gan(model, IMAGE_SHAPE, NUM_CLASSES, **TINY_WIDTHS)
    randomize_generator(gan, seed)
    model_dir = os.path.join(root, 'runs', f'{model}-{seed}')
    save_run(gan, model_dir)
    path = export.export_generator(models.load_gan(model_dir), os.path.join(root, 'exports'), model,
                                   version=version)
    return model_dir, path


def latent_batch(gan, batch, seed=0):
    """Fixed generator inputs (numpy) for `batch` images, labels cycling through the classes."""
    rng = np.random.default_rng(seed)
    latent = {}
    for name, spec in gan.latent_spec().items():
        if spec.dtype == tf.int32:
            latent[name] = (np.arange(batch) % gan.num_classes).astype(np.int32)
        else:
            latent[name] = rng.normal(size=[batch, *spec.shape[1:]]).astype(np.float32)
    return latent


def keras_images(gan, latent):
    """What the exported `serving_default` must return: the Keras generator's images in [0, 1]."""
    images = gan.generator({name: tf.constant(value) for name, value in latent.items()}, training=False)
    return ((images + 1.0) / 2.0).numpy()
