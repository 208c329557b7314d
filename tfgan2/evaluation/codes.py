"""InfoGAN's continuous codes, measured: how much of each code a fresh regressor can read back from
the images (the InfoGAN paper's promise that the codes steer the images, and the common complaint
about ports that "the codes do nothing").

Images are generated with known codes and quantised to 8-bit, as users see them. A new small CNN
(the evaluation classifier's network with one linear output per code, never the GAN's own Q
head, which trained with the generator and can read signals no person sees) learns to predict the
codes from them; its R² per code on new samples is the figure. Beside it, the same regressor
trained on codes shuffled across images gives the control: what the regressor finds where there
is nothing to find (about 0; above 0 only by chance).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import errors, rng
from tfgan2.evaluation import classifier

GENERATION_BATCH = 500


@dataclasses.dataclass(frozen=True)
class CodeConfig:
    """How the code regressors are trained and tested."""
    train_samples: int = 10000
    test_samples: int = 2000
    epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 1e-3
    feature_dim: int = 128
    seed: int = 0


def coded_samples(gan, count, seed):
    """(uint8 images [count, H, W, C], continuous codes float32 [count, code_dim]) from the GAN's
    own latent sampler (other latents drawn as they are in training), each batch from the next
    seed after `seed`."""
    images, codes = [], []
    for batch, start in enumerate(range(0, count, GENERATION_BATCH)):
        latent = gan.sample_latent(rng.StatelessSampler(seed * 1_000_000 + batch),
                                   min(GENERATION_BATCH, count - start))
        pixels = tf.round((gan.generate(latent) + 1.0) * 127.5)
        images.append(tf.cast(tf.clip_by_value(pixels, 0, 255), tf.uint8).numpy())
        codes.append(latent['code'].numpy())
    return np.concatenate(images), np.concatenate(codes)


def r_squared(predicted, targets):
    """[K]: the coefficient of determination of each column of predicted [N, K] against
    targets [N, K]: 1 - residual variance / variance around the targets' mean (1: read back
    exactly; 0: no better than the mean; negative: worse)."""
    predicted, targets = np.asarray(predicted, np.float64), np.asarray(targets, np.float64)
    residual = np.sum((targets - predicted) ** 2, axis=0)
    return 1 - residual / np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)


def fit_regressor(images, targets, config):
    """A fresh regressor of targets [N, K] from uint8 images [N, H, W, C]."""
    model = classifier.build_classifier(images.shape[1:], targets.shape[1], config.feature_dim, config.seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss='mse')
    return classifier.fit_in_stateless_order(model, images, np.asarray(targets, np.float32), config.epochs,
                                             config.batch_size, config.seed)


def predict(model, images, batch_size=1000):
    return np.concatenate([model(batch, training=False).numpy()
                           for batch in classifier.unit_range_batches(images, batch_size)])


def code_r_squared(gan, config=CodeConfig()):
    """(R² per continuous code, R² per code of the shuffled-code control) of an InfoGAN
    (`gan.hyperparameters.code_dim` codes), on `config.test_samples` images drawn apart from the training ones."""
    if getattr(gan, 'kind', None) != 'infogan':
        raise errors.ConfigError(f'Code R² measures InfoGAN\'s continuous codes; this GAN is '
                                 f'{getattr(gan, "kind", type(gan).__name__)!r}.')
    train_images, train_codes = coded_samples(gan, config.train_samples, 2 * config.seed)
    test_images, test_codes = coded_samples(gan, config.test_samples, 2 * config.seed + 1)
    shuffled = train_codes[np.random.default_rng(config.seed).permutation(len(train_codes))]
    return tuple(r_squared(predict(fit_regressor(train_images, codes, config), test_images), test_codes)
                 for codes in (train_codes, shuffled))
