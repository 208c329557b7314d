"""Measures generated images: Fréchet distance, classifier score, label accuracy and per-class
collapse, each beside its real-data value, through a per-dataset evaluation classifier."""

from tfgan2.evaluation.classifier import ClassifierConfig, EvaluationClassifier, load_or_train
from tfgan2.evaluation.evaluate import (Evaluation, Evaluator, draws_requested_classes, epoch_hook,
                                        gan_sampler, run_dataset, saved_model_sampler)
