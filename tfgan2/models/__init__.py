"""One GAN per module; `build_gan` picks one by name."""

from tfgan2.models.dcgan import DCGAN

MODELS = {'dcgan': DCGAN}


def build_gan(name, image_shape, num_classes, **hyperparameters):
    """Builds the GAN called `name` for images of `image_shape` and `num_classes` classes."""
    if name not in MODELS:
        raise ValueError(f'Unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}.')
    gan = MODELS[name](image_shape, num_classes=num_classes, **hyperparameters)
    gan.build()
    return gan
