"""Tiny GANs for the export and serving tests, saved as a training run (gan.json + checkpoint,
what tfgan2-export reads) and exported from that run.

Their generator weights, batch-norm statistics included, are drawn far from the initial ones:
outputs then span [0, 1] and differ clearly between inputs, so a mixed-up input, a wrong
checkpoint or batch statistics used in place of the moving ones all show."""

import os

import numpy as np
import tensorflow as tf
from conftest import TINY_WIDTHS

from tfgan2 import build_gan, export, load_run, run

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def randomize_generator(gan, seed):
    """Draws the weights of the averaged generator (the one exports serve) far from the initial ones."""
    rng = np.random.default_rng(seed)
    for variable in gan.averaged_generator.variables:
        values = rng.normal(0.0, 0.4, variable.shape)
        if 'variance' in variable.name:
            values = np.abs(values) + 0.5
        variable.assign(values.astype(np.float32))


def build_tiny(model):
    return build_gan(model, image_shape=IMAGE_SHAPE, num_classes=NUM_CLASSES, **TINY_WIDTHS)


def save_run(gan, model_dir):
    """Writes `gan` as a training run (record and checkpoint) that `load_run(model_dir)` rebuilds."""
    folder = run.RunDir(model_dir)
    data = {'name': 'synthetic', 'source': 'arrays', 'image_shape': list(IMAGE_SHAPE),
            'num_classes': NUM_CLASSES, 'class_names': [str(c) for c in range(NUM_CLASSES)], 'num_examples': 1}
    folder.write_record({**run.gan_record(gan), 'data': data})
    tf.train.Checkpoint(**{run.GAN_OBJECT: gan}).write(os.path.join(folder.checkpoint_dir, 'ckpt-1'))


def export_run(root, model, seed=0, version=None):
    """Builds `model`, randomizes it, saves it as a run under `root` and exports that run (as
    tfgan2-export does) to `root`/exports; returns (model_dir, export path)."""
    gan = build_tiny(model)
    randomize_generator(gan, seed)
    model_dir = os.path.join(root, 'runs', f'{model}-{seed}')
    save_run(gan, model_dir)
    path = export.export_generator(load_run(model_dir), os.path.join(root, 'exports'), model, version=version)
    return model_dir, path


def latent_batch(gan, batch, seed=0):
    """Fixed generator inputs (numpy) for `batch` images, labels cycling through the classes."""
    rng = np.random.default_rng(seed)
    latent = {}
    for name, spec in gan.latent_spec().items():
        if spec.dtype == tf.int32:
            latent[name] = (np.arange(batch) % gan.num_labels).astype(np.int32)
        else:
            latent[name] = rng.normal(size=[batch, *spec.shape[1:]]).astype(np.float32)
    return latent


def keras_images(gan, latent):
    """What the exported `serving_default` must return: the Keras generator's images in [0, 1]."""
    images = gan.generate({name: tf.constant(value) for name, value in latent.items()})
    return ((images + 1.0) / 2.0).numpy()
