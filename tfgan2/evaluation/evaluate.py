"""Evaluates a generator against real images, in the features of a per-dataset classifier or of
InceptionV3.

Real images come from the test data when given, else from a deterministic part of the data held
out from the classifier's training. They are shuffled with a fixed seed and cut in two halves.
Half B is the reference every distance is measured against; half A stands in for a perfect
generator, so each figure for generated images has its real-data value beside it, measured with
the same sample sizes (FD's real-vs-real floor, the real classifier score, real per-class diversity).

The feature space (`metric`):
- 'classifier' (labeled data): a small CNN trained on the data and cached; Fréchet distance in its
  features, classifier score and its parts, class histogram, label accuracy and per-class collapse.
- 'inception' (any data, the only choice for unlabeled data): FID and KID in InceptionV3 pool
  features, the figures papers report; no class figures.

Generators come as `generate(count, labels)` callables returning images in [-1, 1]: `gan_sampler`
wraps a `tfgan2.models` GAN, `saved_model_sampler` an exported SavedModel's `from_seed` signature.
"""

import dataclasses
import json
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from tfgan2 import artifacts, errors, export, storage
from tfgan2.evaluation import classifier, inception, metrics

if TYPE_CHECKING:
    from tfgan2.data import ImageData
    from tfgan2.models import GAN

# `generate(count, labels)`: `count` images in [-1, 1], of `labels` (int32 [count]) when not None.
Generate = Callable[[int, np.ndarray | None], np.ndarray]

logger = logging.getLogger(__name__)

CLASSIFIER, INCEPTION = 'classifier', 'inception'
GENERATION_BATCH = 500
REAL_EXAMPLES = 10000  # At most this many real images for the real-data figures (both halves).
SAMPLE_SEED = 0  # Which images are sampled depends on this alone, not on TensorFlow's global seed.
# Figures measured on generated and real images alike; Evaluation has each as NAME and real_NAME.
PAIRED_SCALARS = ('frechet_distance', 'kernel_distance', 'classifier_score', 'class_coverage',
                  'class_ambiguity', 'class_share_distance')


@dataclasses.dataclass
class Evaluation:
    """Figures for one generator, each beside its real-data value (real_*: real images measured
    the same way); lists are per class. Class figures need metric='classifier' and are None with
    'inception', which measures the kernel distance (KID) instead."""
    num_samples: int
    metric: str  # The feature space: 'classifier' or 'inception'.
    frechet_distance: float
    real_frechet_distance: float
    kernel_distance: float | None = None
    real_kernel_distance: float | None = None
    classifier_test_accuracy: float | None = None  # On the real images, held out from its training.
    classifier_score: float | None = None
    real_classifier_score: float | None = None
    class_coverage: float | None = None  # Entropy of the class mix, nats.
    real_class_coverage: float | None = None
    class_ambiguity: float | None = None  # Mean entropy of each image's prediction, nats.
    real_class_ambiguity: float | None = None
    class_share_distance: float | None = None  # Total variation to the reference's class histogram.
    real_class_share_distance: float | None = None
    class_names: list | None = None
    class_share: list | None = None
    real_class_share: list | None = None
    class_diversity: list | None = None
    real_class_diversity: list | None = None
    collapsed_classes: dict | None = None  # Class name -> why it is flagged ('dropped', 'low diversity').
    label_accuracy: float | None = None  # Only for generators that draw requested classes.
    label_accuracy_per_class: list | None = None

    def scalars(self):
        """The per-epoch figures for history.csv, the plot and TensorBoard."""
        figures = {prefix + name: getattr(self, prefix + name) for name in PAIRED_SCALARS
                   for prefix in ('', 'real_') if getattr(self, name) is not None}
        if self.collapsed_classes is not None:
            figures['collapsed_classes'] = float(len(self.collapsed_classes))
        if self.label_accuracy is not None:
            figures['label_accuracy'] = self.label_accuracy
        return {artifacts.METRIC_PREFIX + key: value for key, value in figures.items()}

    def _fd_name(self):
        return 'FID' if self.metric == INCEPTION else 'FD'

    def summary(self):
        """One line: the headline figures."""
        parts = [f'{self._fd_name()} {self.frechet_distance:.2f} (real {self.real_frechet_distance:.2f})']
        if self.kernel_distance is not None:
            parts.append(f'KID {self.kernel_distance:.4f} (real {self.real_kernel_distance:.4f})')
        if self.classifier_score is not None:
            parts += [f'classifier score {self.classifier_score:.2f} (real {self.real_classifier_score:.2f})',
                      f'coverage {self.class_coverage:.2f} (real {self.real_class_coverage:.2f})',
                      f'ambiguity {self.class_ambiguity:.2f} (real {self.real_class_ambiguity:.2f})',
                      f'class mix off by {self.class_share_distance:.3f} '
                      f'(real {self.real_class_share_distance:.3f})']
        if self.label_accuracy is not None:
            parts.append(f'label accuracy {self.label_accuracy:.3f}')
        if self.collapsed_classes is not None:
            parts.append(f'collapsed classes: {", ".join(self.collapsed_classes) or "none"}')
        return ', '.join(parts)

    def _figure_rows(self):
        floor_ratio = self.frechet_distance / max(self.real_frechet_distance, 1e-12)
        rows = [('Frechet distance', self.frechet_distance, self.real_frechet_distance, '.3f',
                 f'(ratio {floor_ratio:.1f}x)'),
                ('kernel distance', self.kernel_distance, self.real_kernel_distance, '.5f', ''),
                ('classifier score', self.classifier_score, self.real_classifier_score, '.3f', ''),
                ('  coverage', self.class_coverage, self.real_class_coverage, '.3f',
                 '(entropy of the class mix, nats)'),
                ('  ambiguity', self.class_ambiguity, self.real_class_ambiguity, '.3f',
                 '(mean entropy per image, nats)'),
                ('class mix distance', self.class_share_distance, self.real_class_share_distance, '.3f',
                 '(total variation to the reference)')]
        return [f'  {label:<19}{value:10{spec}}   real {real:{spec}} {note}'.rstrip()
                for label, value, real, spec, note in rows if value is not None]

    def _class_rows(self):
        header = f'  {"class":<14}{"share":>7}{"real":>7}{"diversity":>11}{"real":>7}'
        if self.label_accuracy_per_class is not None:
            header += f'{"label acc":>11}'
        lines = [header]
        for c, name in enumerate(self.class_names):
            row = (f'  {name[:13]:<14}{self.class_share[c]:7.3f}{self.real_class_share[c]:7.3f}'
                   f'{self.class_diversity[c]:11.2f}{self.real_class_diversity[c]:7.2f}')
            if self.label_accuracy_per_class is not None:
                row += f'{self.label_accuracy_per_class[c]:11.3f}'
            if name in self.collapsed_classes:
                row += f'  COLLAPSED ({self.collapsed_classes[name]})'
            lines.append(row)
        return lines

    def report(self):
        """A table for people: headline figures, then one row per class (classifier features)."""
        title = f'Evaluation of {self.num_samples} generated images in {self.metric} features'
        if self.classifier_test_accuracy is not None:
            title += f' (classifier test accuracy {self.classifier_test_accuracy:.4f})'
        lines = [title, *self._figure_rows()]
        if self.label_accuracy is not None:
            lines.append(f'  {"label accuracy":<19}{self.label_accuracy:10.3f}')
        if self.collapsed_classes is not None:
            lines.append(f'  {"collapsed classes":<19}{", ".join(self.collapsed_classes) or "none"}')
            lines += self._class_rows()
        return '\n'.join(lines)

    def save_json(self, path):
        """Writes all figures as JSON (NaN as null), atomically, to any tf.io.gfile path."""
        clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
        record = {k: [clean(x) for x in v] if isinstance(v, list) else clean(v)
                  for k, v in dataclasses.asdict(self).items()}
        storage.write_atomically(path, json.dumps(record, indent=2))


def sample_arrays(data, counts, seed=SAMPLE_SEED):
    """Disjoint random samples of `data` (a `tfgan2.data.ImageData`), `counts[i]` images each or
    fewer when the data runs out, as (uint8 images, int32 labels) numpy pairs in the data's order.
    One pass over the data holding only the samples; the choice depends on `seed` alone."""
    if data.elements.element_spec[0].dtype != tf.uint8:
        raise errors.ConfigError(f'data {data.name!r} has {data.elements.element_spec[0].dtype.name} images; '
                                 f'ImageData.elements must hold uint8 images.')
    order = np.random.default_rng(seed).permutation(data.num_examples)
    roles = np.full(data.num_examples, -1, np.int32)
    bounds = np.cumsum([0, *counts])
    for role, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        roles[order[start:stop]] = role
    role_of = tf.constant(roles)
    selected = (data.elements.take(data.num_examples).enumerate()
                .filter(lambda index, element: role_of[index] >= 0)
                .map(lambda index, element: (role_of[index], *element))
                .batch(4096))
    batches = list(selected.as_numpy_iterator())
    if not batches:
        raise errors.ConfigError(f'data {data.name!r} yielded no images (num_examples={data.num_examples}).')
    role_column, images, labels = (np.concatenate(column) for column in zip(*batches))
    return [(images[role_column == role], labels[role_column == role].astype(np.int32))
            for role in range(len(counts))]


def choose_metric(metric, data):
    """`metric`, checked against the data; None picks 'classifier' for labeled data, else 'inception'."""
    if metric is None:
        return CLASSIFIER if data.labeled else INCEPTION
    if metric not in (CLASSIFIER, INCEPTION):
        raise errors.ConfigError(f"metric={metric!r} is unknown; use 'classifier' or 'inception'.")
    if metric == CLASSIFIER and not data.labeled:
        raise errors.ConfigError(f"metric='classifier' needs labeled data but {data.name!r} has no labels; "
                                 f"use metric='inception'.")
    return metric


def _check_test_matches(data, test):
    if test is not None and (tuple(test.image_shape) != tuple(data.image_shape)
                             or test.num_classes != data.num_classes):
        raise errors.ConfigError(f'test {test.name!r} ({tuple(test.image_shape)}, {test.num_classes} classes) '
                                 f'does not match data {data.name!r} ({tuple(data.image_shape)}, '
                                 f'{data.num_classes} classes); pass the test split of the same data.')


class Evaluator:
    """Measures generators against one data set; the feature model and real-data figures are
    computed once here and shared by every `evaluate` call."""

    def __init__(self, data: 'ImageData', test: 'ImageData | None' = None, num_samples: int | None = None,
                 metric: str | None = None, cache_dir: str | None = None,
                 classifier_config: classifier.ClassifierConfig | None = None,
                 inception_weights: str = 'imagenet', real_examples: int = REAL_EXAMPLES):
        """`data`, `test`: `tfgan2.data.ImageData`; with no `test`, a deterministic part of `data`
        (up to a fifth, at most `real_examples`) is held out for the real-data figures."""
        self.metric = choose_metric(metric, data)
        classifier_config = classifier_config or classifier.ClassifierConfig()
        _check_test_matches(data, test)
        self.image_shape = tuple(data.image_shape)
        self.num_classes = data.num_classes
        self.class_names = list(data.class_names or [str(c) for c in range(data.num_classes)])
        # Built first: a missing weights file fails before any data is read.
        self.inception = inception.InceptionFeatures(inception_weights) if self.metric == INCEPTION else None
        real, train = self._real_and_train(data, test, real_examples, classifier_config.max_train_examples)
        self.classifier = (classifier.load_or_train(data.name, *train, data.num_classes, cache_dir,
                                                    classifier_config)
                           if self.metric == CLASSIFIER else None)
        self._measure_real(*real, num_samples, data.name)

    def _real_and_train(self, data, test, real_examples, train_examples):
        """((real images, labels), (classifier training images, labels) or None), disjoint."""
        train_examples = train_examples if self.metric == CLASSIFIER else 0
        if test is None:
            held_out = min(real_examples, data.num_examples // 5 if train_examples else data.num_examples)
            return sample_arrays(data, [held_out, train_examples])
        train = sample_arrays(data, [train_examples])[0] if train_examples else None
        return sample_arrays(test, [real_examples])[0], train

    def _measure_real(self, images, labels, num_samples, name):
        """Splits the real images into the reference half and the perfect-generator half, and
        measures the latter (and the classifier's accuracy on the former)."""
        half = len(images) // 2
        if half < 2:
            raise errors.ConfigError(f'{len(images)} real images of {name!r} are left for the real-data '
                                     f'figures; evaluation needs at least 4 (two halves of two).')
        order = np.random.default_rng(SAMPLE_SEED).permutation(len(images))
        self.num_samples = num_samples or half
        self._set_reference(images[order[half:2 * half]])
        self.classifier_test_accuracy = (
            float(np.mean(self._reference_predicted == labels[order[half:2 * half]]))
            if self.classifier else None)
        # Real figures from as many images as each evaluation generates (up to the half), so
        # the floor carries the same small-sample bias as the generated set's figures.
        self.real = self._measure(images[order[:min(self.num_samples, half)]])

    def _features_and_logits(self, images):
        if self.classifier:
            return self.classifier.features_and_logits(images)
        return self.inception.features(images), None

    def _set_reference(self, images):
        features, logits = self._features_and_logits(images)
        self._reference_features = features
        self._frechet_reference = metrics.FrechetReference(features)
        if logits is not None:
            self._reference_predicted = logits.argmax(axis=-1)
            self._reference_share = metrics.class_shares(self._reference_predicted, self.num_classes)

    def _measure(self, images):
        """The figures of `images` named as Evaluation's fields, plus the 'predicted' classes."""
        features, logits = self._features_and_logits(images)
        figures = {'frechet_distance': self._frechet_reference.distance(features)}
        if logits is None:
            figures['kernel_distance'] = metrics.kernel_distance(features, self._reference_features)
            return figures
        predicted = logits.argmax(axis=-1)
        share, diversity = metrics.class_diversity(features, predicted, self.num_classes)
        coverage, ambiguity = metrics.classifier_score_parts(logits)
        return {**figures, 'classifier_score': metrics.classifier_score(logits),
                'class_coverage': coverage, 'class_ambiguity': ambiguity,
                'class_share_distance': metrics.total_variation_distance(share, self._reference_share),
                'class_share': share.tolist(), 'class_diversity': diversity.tolist(),
                'predicted': predicted}

    def _generate(self, generate, requested):
        chunks = []
        for start in range(0, self.num_samples, GENERATION_BATCH):
            count = min(GENERATION_BATCH, self.num_samples - start)
            chunks.append(np.asarray(generate(count, None if requested is None
                                              else requested[start:start + count])))
        images = np.concatenate(chunks)
        if images.shape[1:] != self.image_shape:
            raise errors.ConfigError(f'The generator makes images of shape {images.shape[1:]}, but the '
                                     f'evaluation data has {self.image_shape}: evaluate against the data '
                                     f'the generator was trained on.')
        return images

    def evaluate(self, generate: Generate, class_conditional: bool = False) -> Evaluation:
        """Evaluates `num_samples` images from `generate(count, labels)` (images in [-1, 1]).

        With `class_conditional`, labels are requested evenly over the classes (and label
        accuracy is measured in classifier features); otherwise `generate` gets labels=None."""
        if class_conditional and not self.num_classes:
            raise errors.ConfigError('class_conditional=True needs labeled evaluation data; this data has none.')
        requested = (np.arange(self.num_samples, dtype=np.int32) % self.num_classes
                     if class_conditional else None)
        fake, real = self._measure(self._generate(generate, requested)), self.real
        evaluation = Evaluation(num_samples=self.num_samples, metric=self.metric,
                                **{k: v for k, v in fake.items() if k != 'predicted'},
                                **{'real_' + k: v for k, v in real.items() if k != 'predicted'})
        if self.classifier:
            collapsed = metrics.collapsed_classes(fake['class_share'], fake['class_diversity'],
                                                  real['class_share'], real['class_diversity'])
            evaluation.classifier_test_accuracy = self.classifier_test_accuracy
            evaluation.class_names = self.class_names
            evaluation.collapsed_classes = {self.class_names[c]: why for c, why in collapsed.items()}
            if class_conditional:
                overall, per_class = metrics.label_accuracy(fake['predicted'], requested, self.num_classes)
                evaluation.label_accuracy, evaluation.label_accuracy_per_class = overall, per_class.tolist()
        return evaluation

    def evaluate_gan(self, gan: 'GAN', seed: int = 0) -> Evaluation:
        """Evaluates a `tfgan2.models` GAN (its averaged generator), requesting classes if it
        draws classes of the data."""
        class_conditional = gan.draws_dataset_classes
        if class_conditional and gan.num_classes != self.num_classes:
            raise errors.ConfigError(f'The GAN draws {gan.num_classes} classes but the evaluation data has '
                                     f'{self.num_classes}: evaluate against the data it was trained on.')
        return self.evaluate(gan_sampler(gan, seed), class_conditional)


def gan_sampler(gan, seed=0):
    """`generate(count, labels)` drawing latents with the GAN's own `sample_latent`, each call
    from the next seed, so the same `seed` gives the same images."""
    seeds = iter(range(seed * 1_000_000, (seed + 1) * 1_000_000))

    def generate(count, labels=None):
        return gan.sample(count, labels=labels, seed=next(seeds)).numpy()
    return generate


def saved_model_sampler(path, seed=0):
    """(`generate(count, labels)`, takes_labels) for an exported generator, through its
    `from_seed` signature, so latents come from the model's own sampler. A `label` input is
    taken to be the dataset class (for an unsupervised InfoGAN it is its categorical code)."""
    loaded = export.load_saved_model(path)
    if export.FROM_SEED not in loaded.signatures:
        raise errors.ConfigError(f'{path} has no {export.FROM_SEED!r} signature (it has '
                                 f'{", ".join(loaded.signatures) or "none"}): it was not written by '
                                 f'tfgan2-export. Export the run again with tfgan2-export.')
    takes_labels = export.LABEL in loaded.signatures[export.FROM_SEED].structured_input_signature[1]
    seeds = iter(range(seed * 1_000_000, (seed + 1) * 1_000_000))  # One seed per call.

    def generate(count, labels=None):
        # `loaded` is used here (not just its signature) to keep the variables it owns alive.
        signature = loaded.signatures[export.FROM_SEED]
        request = ({export.LABEL: tf.constant(labels, tf.int32)} if takes_labels
                   else {export.NUM_IMAGES: tf.constant(count, tf.int32)})
        images = signature(**request, **{export.SEED: tf.constant(next(seeds), tf.int64)})
        return images[export.IMAGES].numpy() * 2.0 - 1.0
    return generate, takes_labels


class EvaluationCallback(keras.callbacks.Callback):
    """Every `every` epochs, evaluates the GAN being trained (the same latents each time, so
    epochs compare fairly) and adds its figures (`Evaluation.scalars()`) to the epoch's logs,
    which the trainer writes into history.csv, the plot and TensorBoard."""

    def __init__(self, evaluator: Evaluator, every: int, seed: int = 0):
        super().__init__()
        self.evaluator, self.every, self.seed = evaluator, every, seed

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        evaluation = self.evaluator.evaluate_gan(self.model, self.seed)
        logger.info('Epoch %d quality: %s', epoch + 1, evaluation.summary())
        if logs is not None:
            logs.update(evaluation.scalars())
