"""Measures generated images against real ones, each figure beside its real-data value: Fréchet
distance, classifier score (and its coverage and ambiguity), class histogram, label accuracy and
per-class collapse through a per-dataset classifier; Fréchet and kernel distances, precision/recall,
density/coverage and near-copies of training images through a per-dataset self-supervised encoder
(no labels, offline); InfoGAN's code R²; or FID and KID in InceptionV3 features."""

from tfgan2.evaluation.classifier import ClassifierConfig, EvaluationClassifier, load_or_train
from tfgan2.evaluation.codes import CodeConfig, code_r_squared
from tfgan2.evaluation.encoder import EncoderConfig, EvaluationEncoder
from tfgan2.evaluation.evaluate import (
                                        CLASSIFIER,
                                        INCEPTION,
                                        SELF_SUPERVISED,
                                        Evaluation,
                                        EvaluationCallback,
                                        Evaluator,
                                        choose_metric,
                                        gan_sampler,
                                        sample_arrays,
                                        saved_model_sampler,
)
from tfgan2.evaluation.inception import InceptionFeatures, WeightsUnavailableError

__all__ = ['CLASSIFIER', 'INCEPTION', 'SELF_SUPERVISED', 'ClassifierConfig', 'CodeConfig', 'EncoderConfig',
           'Evaluation', 'EvaluationCallback', 'EvaluationClassifier', 'EvaluationEncoder', 'Evaluator',
           'InceptionFeatures', 'WeightsUnavailableError', 'choose_metric', 'code_r_squared', 'gan_sampler',
           'load_or_train', 'sample_arrays', 'saved_model_sampler']
