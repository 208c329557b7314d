"""The public API is annotated: every parameter and result of the entry points README shows."""

import inspect

import pytest

import tfgan2
from tfgan2 import data, evaluation

PUBLIC = [data.load, data.from_arrays, data.from_file, data.from_directory, data.from_dataset, data.from_idx,
          data.from_tfds, data.input_pipeline, tfgan2.Trainer.__init__, tfgan2.Trainer.fit, tfgan2.load_run,
          tfgan2.RunDir.__init__, tfgan2.export_generator, evaluation.Evaluator.__init__, evaluation.Evaluator.evaluate,
          evaluation.Evaluator.evaluate_gan, evaluation.EvaluationCallback.__init__]


@pytest.mark.parametrize('function', PUBLIC, ids=lambda function: function.__qualname__)
def test_every_parameter_and_result_is_annotated(function):
    signature = inspect.signature(function)
    missing = [name for name, parameter in signature.parameters.items()
               if name != 'self' and parameter.annotation is inspect.Parameter.empty]
    if function.__name__ != '__init__' and signature.return_annotation is inspect.Signature.empty:
        missing.append('return')
    assert not missing

