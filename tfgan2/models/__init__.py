"""One GAN per module on the shared contract (`base.GAN`); `build_gan` builds one by name.

Adding a GAN is one module whose class is decorated with `register`; docs/adding_a_gan.md shows one.
"""

from tfgan2 import augment, errors
from tfgan2.data import ImageData
from tfgan2.models.acgan import ACGAN
from tfgan2.models.base import GAN
from tfgan2.models.cgan import CGAN
from tfgan2.models.dcgan import DCGAN
from tfgan2.models.hyperparameters import Hyperparameter
from tfgan2.models.infogan import InfoGAN
from tfgan2.models.registry import MODELS, model_class, register
from tfgan2.models.selfcond import SelfConditionedGAN

# Importing a model registers it; tfgan2-train lists them in this order, its default first.
MODELS.update({kind: MODELS.pop(kind) for kind in ('selfcond', 'dcgan', 'cgan', 'acgan', 'infogan')})

__all__ = ['ACGAN', 'CGAN', 'DCGAN', 'GAN', 'Hyperparameter', 'InfoGAN', 'MODELS', 'SelfConditionedGAN',
           'build_gan', 'model_class', 'register']


def build_gan(kind: str, data: ImageData | None = None, *, image_shape: tuple[int, int, int] | None = None,
              num_classes: int = 0, **hyperparameters) -> GAN:
    """Builds the GAN called `kind` for `data` (a `tfgan2.data.ImageData`, which gives the image
    shape and classes) or for `image_shape` and `num_classes`. Hyperparameters left out take the
    model's defaults (`cls.HYPERPARAMETERS`), augment='auto' resolved by the data's size;
    `gan.get_config()` records every value."""
    cls = model_class(kind)
    if data is not None:
        image_shape, num_classes = data.image_shape, data.num_classes
        if hyperparameters.get('augment', augment.AUTO) == augment.AUTO:
            hyperparameters['augment'] = augment.auto_operations(data.num_examples)
    if image_shape is None:
        raise errors.ConfigError('Pass the data to build for, or image_shape (and num_classes).')
    return cls(image_shape=tuple(image_shape), num_classes=num_classes, **hyperparameters)
