"""Regularisers of the discriminator that a GAN can be given on top of its loss.

Gradient penalties (`GRADIENT_PENALTIES`, chosen by the `penalty` hyperparameter) keep the
discriminator smooth around the data: each takes two critics, `real_critic(images)` and
`fake_critic(images)` (the adversarial logit of images as the loss sees it: augmented, and
conditioned as the real or the generated batch), the two batches and a sampler, and returns a
float32 batch mean that the GAN scales by `penalty_weight`. The GAN can apply them every N steps only, scaled by N
(lazy regularisation, Karras et al. 2020).

`LeCam` (Tseng et al. 2021) pulls the discriminator's outputs on each side towards a moving
average of its outputs on the other side, which limits how far it can fit a small dataset.
"""

import keras
import tensorflow as tf


def squared_gradient_norm(critic, images):
    """‖∇ₓ critic(x)‖² for each image [B] (float32), differentiable again for the update."""
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(tf.cast(critic(images), tf.float32))
    gradients = tape.gradient(total, images)
    return tf.reduce_sum(tf.square(gradients), axis=tf.range(1, tf.rank(gradients)))


def r1(real_critic, fake_critic, real, fake, sampler):
    """R1 (Mescheder et al. 2018): the gradient's squared norm on real images."""
    del fake_critic, fake, sampler
    return tf.reduce_mean(squared_gradient_norm(real_critic, real))


def r2(real_critic, fake_critic, real, fake, sampler):
    """R2: the gradient's squared norm on generated images."""
    del real_critic, real, sampler
    return tf.reduce_mean(squared_gradient_norm(fake_critic, fake))


def r1_r2(*inputs):
    """R1 + R2, as R3GAN (Huang et al. 2024) pairs with the relativistic loss."""
    return r1(*inputs) + r2(*inputs)


def gradient_penalty(real_critic, fake_critic, real, fake, sampler):
    """WGAN-GP (Gulrajani et al. 2017): (‖∇‖ - 1)² on random points between each real image and
    a generated one."""
    batch = tf.shape(real)[0]
    mix = sampler.uniform([batch, *[1] * (len(real.shape) - 1)])
    between = mix * tf.cast(real, tf.float32) + (1.0 - mix) * tf.cast(fake, tf.float32)
    del fake_critic  # The points between are scored under the real batch's conditions.
    norms = tf.sqrt(squared_gradient_norm(real_critic, between) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


GRADIENT_PENALTIES = {'none': None, 'gradient': gradient_penalty, 'r1': r1, 'r2': r2, 'r1_r2': r1_r2}


@keras.saving.register_keras_serializable(package='tfgan2')
class LeCam(keras.layers.Layer):
    """LeCam regularisation's state and term: moving averages of the discriminator's mean
    logits on real and on generated images (weights, so checkpoints carry them), and
    mean(relu(D(real) - avg D(fake))²) + mean(relu(avg D(real) - D(fake))²)."""

    def __init__(self, decay=0.99, **kwargs):
        super().__init__(**{**kwargs, 'dtype': 'float32'})
        self.decay = decay
        self.real_average = self.add_weight(shape=(), initializer='zeros', trainable=False, name='real_average')
        self.fake_average = self.add_weight(shape=(), initializer='zeros', trainable=False, name='fake_average')

    def term(self, real_logits, fake_logits):
        real, fake = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
        return (tf.reduce_mean(tf.square(tf.nn.relu(real - self.fake_average)))
                + tf.reduce_mean(tf.square(tf.nn.relu(self.real_average - fake))))

    def update(self, real_mean, fake_mean):
        """Folds one step's mean logits into the averages."""
        self.real_average.assign(self.decay * self.real_average + (1.0 - self.decay) * real_mean)
        self.fake_average.assign(self.decay * self.fake_average + (1.0 - self.decay) * fake_mean)

    def get_config(self):
        return {**super().get_config(), 'decay': self.decay}
