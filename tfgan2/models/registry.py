"""The GANs known by name: `register` a GAN class and `build_gan`, gan.json, `keras.saving` and
tfgan2-train (which lists the GANs registered when it starts) know it by its `kind`."""

import keras

from tfgan2 import errors

MODELS = {}


def register(cls):
    """Class decorator: makes the GAN class `cls` known by its `kind`."""
    from tfgan2.models.base import GAN
    if not (isinstance(cls, type) and issubclass(cls, GAN)) or cls.kind == GAN.kind:
        raise TypeError(f'{cls!r} is not a subclass of tfgan2.models.GAN with a kind of its own.')
    if MODELS.get(cls.kind, cls) is not cls:
        raise TypeError(f'kind {cls.kind!r} is taken by {MODELS[cls.kind].__name__}.')
    MODELS[cls.kind] = keras.saving.register_keras_serializable(package='tfgan2')(cls)
    return cls


def model_class(kind):
    if kind not in MODELS:
        raise errors.ConfigError(f'model={kind!r} is unknown; choose one of {", ".join(MODELS)}.')
    return MODELS[kind]
