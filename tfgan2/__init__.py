"""tfgan2: the classic GAN tutorials (DCGAN, CGAN, ACGAN, InfoGAN) as production-grade TensorFlow 2.

    import tfgan2
    data = tfgan2.data.load('path/to/images')          # a folder, .npz, TFDS name, arrays, tf.data
    gan = tfgan2.build_gan('dcgan', data)
    tfgan2.Trainer(gan, 'runs/mine').fit(data, epochs=10)
    images = gan.sample(16, seed=0)                      # in [-1, 1]
    tfgan2.export_generator(gan, 'exports', 'mine')      # a SavedModel for TF Serving

Names are imported on first use, so `import tfgan2` does not load TensorFlow. The GAN classes
register with Keras as soon as Keras is loaded, so `keras.saving.load_model` reads a saved GAN
or generator after a plain `import tfgan2`.
"""

import importlib
import importlib.abc
import importlib.util
import sys

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


# The package whose import registers every GAN class and network with Keras.
_KERAS_CLASSES = 'tfgan2.models'


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """Imports `_KERAS_CLASSES` right after Keras itself has been imported, wherever that
    happens (TensorFlow imports it too); it finds nothing itself, and leaves the import system
    once Keras has loaded."""

    def find_spec(self, name, path=None, target=None):
        if name != 'keras':
            return None
        for finder in sys.meta_path:  # the spec the rest of the import system finds
            spec = finder.find_spec(name, path, target) if finder is not self and hasattr(finder, 'find_spec') else None
            if spec is not None:
                break
        loader = spec.loader if spec else None
        if loader is not None and importlib.util.find_spec('tensorflow') is not None:
            def exec_then_register(module):
                del loader.exec_module  # the loader's own method again
                loader.exec_module(module)
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                importlib.import_module(_KERAS_CLASSES)

            loader.exec_module = exec_then_register
        return spec


if 'keras' in sys.modules:
    importlib.import_module(_KERAS_CLASSES)
else:
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())
