"""The keras-io WGAN-GP example's recipe (keras.io/examples/generative/wgan_gp), reproduced as a
baseline for tfgan2's `--recipe=wgan_gp`: its networks (a critic of four 5x5 strided convolutions
on the image padded to 32x32, no normalisation; a generator from 4x4x256 through upsampling and
3x3 convolutions with BatchNorm, cropped to 28x28), Adam(2e-4, 0.5, 0.9) for both, batch 512,
noise of 128, 3 critic updates per generator update on the same real batch, and a gradient
penalty of weight 10 on points real + a (fake - real) with a drawn from N(0, 1), as the example
draws it."""

import keras
import tensorflow as tf
from keras import layers

BATCH_SIZE = 512
NOISE_DIM = 128
CRITIC_STEPS = 3
GP_WEIGHT = 10.0


def _critic():
    images = keras.Input((28, 28, 1))
    x = layers.ZeroPadding2D((2, 2))(images)
    for filters, dropout in ((64, False), (128, True), (256, True), (512, False)):
        x = layers.Conv2D(filters, 5, strides=2, padding='same')(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(0.3)(x)
    x = layers.Dropout(0.2)(layers.Flatten()(x))
    return keras.Model(images, layers.Dense(1)(x))


def _generator():
    noise = keras.Input((NOISE_DIM,))
    x = layers.Dense(4 * 4 * 256, use_bias=False)(noise)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Reshape((4, 4, 256))(x)
    for filters in (128, 64):
        x = layers.Conv2D(filters, 3, padding='same', use_bias=False)(layers.UpSampling2D()(x))
        x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Conv2D(1, 3, padding='same', use_bias=False)(layers.UpSampling2D()(x))
    x = layers.Activation('tanh')(layers.BatchNormalization()(x))
    return keras.Model(noise, layers.Cropping2D((2, 2))(x))


class KerasIoWGANGP:
    """The example's models, optimizers and `train_step(images)`, plus `generate` for evaluation."""

    def __init__(self):
        self.generator, self.critic = _generator(), _critic()
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
        self.train_step = tf.function(self._train_step)

    def _gradient_penalty(self, real, fake):
        batch = tf.shape(real)[0]
        mix = tf.random.normal([batch, 1, 1, 1])
        points = real + mix * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(points)
            scores = self.critic(points, training=True)
        norms = tf.sqrt(tf.reduce_sum(tf.square(tape.gradient(scores, points)), axis=[1, 2, 3]))
        return tf.reduce_mean((norms - 1.0) ** 2)

    def _train_step(self, real):
        batch = tf.shape(real)[0]
        for _ in range(CRITIC_STEPS):
            with tf.GradientTape() as tape:
                fake = self.generator(tf.random.normal([batch, NOISE_DIM]), training=True)
                wasserstein = (tf.reduce_mean(self.critic(fake, training=True))
                               - tf.reduce_mean(self.critic(real, training=True)))
                loss = wasserstein + GP_WEIGHT * self._gradient_penalty(real, fake)
            self.d_optimizer.apply_gradients(zip(tape.gradient(loss, self.critic.trainable_variables),
                                                 self.critic.trainable_variables))
        with tf.GradientTape() as tape:
            fake = self.generator(tf.random.normal([batch, NOISE_DIM]), training=True)
            loss = -tf.reduce_mean(self.critic(fake, training=True))
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, self.generator.trainable_variables),
                                             self.generator.trainable_variables))

    @staticmethod
    def batches(images, seed):
        """The example's input: shuffled batches of 512 images in [-1, 1]."""
        return images.shuffle(60000, seed=seed).batch(BATCH_SIZE)

    def generate(self, count, labels=None):
        """`count` images in [-1, 1] (the evaluator's generator interface; labels are ignored)."""
        del labels
        return self.generator(tf.random.normal([count, NOISE_DIM]), training=False).numpy()
