"""One GAN per module on the shared networks; `build_gan` builds one by name."""

import inspect
import re

from tfgan2 import errors
from tfgan2.models.acgan import ACGAN
from tfgan2.models.base import GAN
from tfgan2.models.cgan import CGAN
from tfgan2.models.dcgan import DCGAN
from tfgan2.models.infogan import InfoGAN
from tfgan2.models.selfcond import SelfConditionedGAN

__all__ = ['ACGAN', 'CGAN', 'DCGAN', 'GAN', 'InfoGAN', 'MODELS', 'SelfConditionedGAN', 'build_gan',
           'model_class']

MODELS = {model.kind: model for model in (DCGAN, CGAN, ACGAN, InfoGAN, SelfConditionedGAN)}

# Constructor arguments that come from the data, not from the user.
DATA_ARGUMENTS = ('image_shape', 'num_classes')


def model_class(kind):
    if kind not in MODELS:
        raise errors.ConfigError(f'model={kind!r} is unknown; choose one of {", ".join(MODELS)}.')
    return MODELS[kind]


def build_gan(kind, data=None, *, image_shape=None, num_classes=0, **hyperparameters):
    """Builds the GAN called `kind` for `data` (a `tfgan2.data.ImageData`, which gives the image
    shape and classes) or for `image_shape` and `num_classes`. Hyperparameters left out take the
    model's defaults; `gan.get_config()` records every value."""
    cls = model_class(kind)
    if data is not None:
        image_shape, num_classes = data.image_shape, data.num_classes
    if image_shape is None:
        raise errors.ConfigError('Pass the data to build for, or image_shape (and num_classes).')
    accepted = hyperparameter_names(cls)
    unknown = sorted(set(hyperparameters) - set(accepted))
    if unknown:
        raise errors.ConfigError(f'{", ".join(unknown)} do(es) not apply to {kind}; its hyperparameters are '
                                 f'{", ".join(accepted)}.')
    arguments = {'image_shape': tuple(image_shape), **hyperparameters}
    if 'num_classes' in inspect.signature(cls).parameters:
        arguments['num_classes'] = num_classes
    return cls(**arguments)


def hyperparameter_names(cls):
    """The constructor arguments of GAN class `cls` that a user chooses."""
    return [name for name in inspect.signature(cls).parameters if name not in DATA_ARGUMENTS]


def hyperparameter_help(cls):
    """{name: help text} from the 'Hyperparameters:' sections of `cls`'s docstrings and its bases'."""
    help_texts = {}
    for klass in reversed(cls.__mro__):
        doc = inspect.cleandoc(klass.__dict__.get('__doc__') or '')
        section = re.search(r'^Hyperparameters:\n((?:[ ]+.*\n?)+)', doc, re.M)
        if section:
            for name, text in re.findall(r'^  (\w+): (.*(?:\n    .*)*)', section[1], re.M):
                help_texts[name] = ' '.join(text.split())
    return help_texts
