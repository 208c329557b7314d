"""tfgan2: the classic GAN tutorials (DCGAN, CGAN, ACGAN, InfoGAN) as production-grade TensorFlow 2.

    import tfgan2
    data = tfgan2.data.load('path/to/images')          # a folder, .npz, TFDS name, arrays, tf.data
    gan = tfgan2.build_gan('dcgan', data)
    tfgan2.Trainer(gan, 'runs/mine').fit(data, epochs=10)
    images = gan.sample(16, seed=0)                      # in [-1, 1]
    tfgan2.export_generator(gan, 'exports', 'mine')      # a SavedModel for TF Serving

Names are imported on first use, so `import tfgan2` (and the commands' --help) stay fast.
"""

import importlib

__version__ = '0.1.0'

# Public name -> the module that defines it.
_EXPORTS = {
    'build_gan': 'tfgan2.models', 'GAN': 'tfgan2.models', 'DCGAN': 'tfgan2.models', 'CGAN': 'tfgan2.models',
    'ACGAN': 'tfgan2.models', 'InfoGAN': 'tfgan2.models', 'SelfConditionedGAN': 'tfgan2.models',
    'Trainer': 'tfgan2.training.loop', 'TrainConfig': 'tfgan2.training.config',
    'NonFiniteLossError': 'tfgan2.training.loop', 'TrainingInterrupted': 'tfgan2.training.loop',
    'load_run': 'tfgan2.run', 'RunDir': 'tfgan2.run',
    'export_generator': 'tfgan2.export',
    'Evaluator': 'tfgan2.evaluation', 'EvaluationCallback': 'tfgan2.evaluation',
}
_MODULES = ('data', 'models', 'evaluation', 'artifacts')
__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return importlib.import_module(f'tfgan2.{name}')
    raise AttributeError(f'module tfgan2 has no attribute {name!r}')


def __dir__():
    return __all__
