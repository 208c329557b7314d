"""The TensorFlow DCGAN tutorial's recipe (tensorflow.org/tutorials/generative/dcgan), reproduced
as the benchmarks' baseline: its Sequential networks, cross-entropy losses, Adam(1e-4) for both
networks, batch 256, and its tf.function train step (two tapes, noise of a full batch)."""

import keras
import tensorflow as tf
from keras import layers

BATCH_SIZE = 256
NOISE_DIM = 100
IMAGE_SHAPE = (28, 28, 1)


def make_generator_model():
    return keras.Sequential([
        keras.Input((NOISE_DIM,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding='same', use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding='same', use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding='same', use_bias=False,
                               activation='tanh'),
    ])


def make_discriminator_model():
    return keras.Sequential([
        keras.Input(IMAGE_SHAPE),
        layers.Conv2D(64, (5, 5), strides=(2, 2), padding='same'),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, (5, 5), strides=(2, 2), padding='same'),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1),
    ])


class TutorialDCGAN:
    """The tutorial's models, optimizers and `train_step(images)`, plus `generate` for evaluation."""

    def __init__(self):
        self.generator = make_generator_model()
        self.discriminator = make_discriminator_model()
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.generator_optimizer = keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = keras.optimizers.Adam(1e-4)
        self.train_step = tf.function(self._train_step)

    def _train_step(self, images):
        noise = tf.random.normal([BATCH_SIZE, NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = self.generator(noise, training=True)
            real_output = self.discriminator(images, training=True)
            fake_output = self.discriminator(generated_images, training=True)
            gen_loss = self.cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (self.cross_entropy(tf.ones_like(real_output), real_output)
                         + self.cross_entropy(tf.zeros_like(fake_output), fake_output))
        generator_gradients = gen_tape.gradient(gen_loss, self.generator.trainable_variables)
        discriminator_gradients = disc_tape.gradient(disc_loss, self.discriminator.trainable_variables)
        self.generator_optimizer.apply_gradients(zip(generator_gradients, self.generator.trainable_variables))
        self.discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, self.discriminator.trainable_variables))

    @staticmethod
    def batches(images, seed):
        """The tutorial's input pipeline (shuffle 60000, batch 256) over a dataset of images in [-1, 1]."""
        return images.shuffle(60000, seed=seed).batch(BATCH_SIZE)

    def generate(self, count, labels=None):
        """`count` images in [-1, 1] (the evaluator's generator interface; labels are ignored)."""
        del labels
        return self.generator(tf.random.normal([count, NOISE_DIM]), training=False).numpy()
