"""Measures generated images against real ones, each figure beside its real-data value: Fréchet
distance, classifier score (and its coverage and ambiguity), class histogram, label accuracy and
per-class collapse through a per-dataset classifier; or FID and KID in InceptionV3 features."""

from tfgan2.evaluation.classifier import ClassifierConfig, EvaluationClassifier, load_or_train
from tfgan2.evaluation.evaluate import (
                                        CLASSIFIER,
                                        INCEPTION,
                                        Evaluation,
                                        EvaluationCallback,
                                        Evaluator,
                                        choose_metric,
                                        gan_sampler,
                                        sample_arrays,
                                        saved_model_sampler,
)
from tfgan2.evaluation.inception import InceptionFeatures, WeightsUnavailableError

__all__ = ['CLASSIFIER', 'INCEPTION', 'ClassifierConfig', 'Evaluation', 'EvaluationCallback',
           'EvaluationClassifier', 'Evaluator', 'InceptionFeatures', 'WeightsUnavailableError',
           'choose_metric', 'gan_sampler', 'load_or_train', 'sample_arrays', 'saved_model_sampler']
