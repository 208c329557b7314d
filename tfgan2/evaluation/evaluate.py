"""Evaluates a generator against real images, in the features of a per-dataset classifier, of a
self-supervised encoder trained on the data's own images, or of InceptionV3.

Real images come from the test data when given, else from a deterministic part of the data held
out from the networks' training. They are shuffled with a fixed seed and cut in two halves.
Half B is the reference every distance is measured against; half A stands in for a perfect
generator, so each figure for generated images has its real-data value beside it, measured with
the same sample sizes (FD's real-vs-real floor, the real classifier score, real per-class
diversity, real precision and recall). The floors also get the spread they show over random
re-splits of the real images, so a generated figure inside it is as good as real.

The feature space of the Fréchet and kernel distances (`metric`):
- 'classifier' (the default for labeled data): a small CNN trained on the data and cached;
  Fréchet distance in its features, classifier score and its parts, class histogram, label
  accuracy and per-class collapse.
- 'selfsupervised' (the default for unlabeled data): a small CNN trained on the data without
  labels and cached (`tfgan2.evaluation.encoder`); Fréchet and kernel distances.
- 'inception': FID and KID in InceptionV3 pool features, the figures papers report, with
  ImageNet weights that must be on disk or downloadable.

Unless `selfsupervised=False`, every evaluation also measures in the self-supervised encoder's
features (beside the classifier's or Inception's distances): precision/recall, density/coverage
and the share of near-copies of training images, which flags a generator that memorises
(`tfgan2.evaluation.neighbours`). InfoGAN runs get the R² of each continuous code
(`tfgan2.evaluation.codes`).

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
from tfgan2.evaluation import classifier, codes, encoder, inception, metrics, neighbours

if TYPE_CHECKING:
    from tfgan2.data import ImageData
    from tfgan2.models import GAN

# `generate(count, labels)`: `count` images in [-1, 1], of `labels` (int32 [count]) when not None.
Generate = Callable[[int, np.ndarray | None], np.ndarray]

logger = logging.getLogger(__name__)

CLASSIFIER, SELF_SUPERVISED, INCEPTION = 'classifier', 'selfsupervised', 'inception'
METRICS = (CLASSIFIER, SELF_SUPERVISED, INCEPTION)
GENERATION_BATCH = 500
REAL_EXAMPLES = 10000  # At most this many real images for the real-data figures (both halves).
SAMPLE_SEED = 0  # Which images are sampled depends on this alone, not on TensorFlow's global seed.
FLOOR_RESPLITS = 20  # Random re-splits of the real images that give each floor's interval.
# Figures measured on generated and real images alike (Evaluation has each as NAME and real_NAME)
# that history.csv, the plot and TensorBoard get; density and coverage are left to the report.
PAIRED_SCALARS = ('frechet_distance', 'kernel_distance', 'classifier_score', 'class_coverage',
                  'class_ambiguity', 'class_share_distance', 'selfsupervised_frechet_distance',
                  'selfsupervised_kernel_distance', 'precision', 'recall', 'copy_share')
# Distances whose real-data floor gets an interval, as real_NAME_interval.
FLOORS = ('frechet_distance', 'kernel_distance', 'selfsupervised_frechet_distance',
          'selfsupervised_kernel_distance')


@dataclasses.dataclass
class Evaluation:
    """Figures for one generator, each beside its real-data value (real_*: real images measured
    the same way; real_*_interval: the 5th-95th percentile of a floor over random re-splits of
    the real images; none in Inception features); lists are per class or per code. Class figures
    need metric='classifier'.
    The self-supervised figures (selfsupervised_* beside another metric's distances, precision to
    copies_training_images) are None when the encoder is not used; code figures are InfoGAN's."""
    num_samples: int
    metric: str  # The feature space of frechet_distance and kernel_distance (see METRICS).
    frechet_distance: float
    real_frechet_distance: float
    real_frechet_distance_interval: list | None = None
    kernel_distance: float | None = None  # KID; not measured in classifier features.
    real_kernel_distance: float | None = None
    real_kernel_distance_interval: list | None = None
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
    # In the self-supervised encoder's features; its FD and KID here only beside another metric's.
    selfsupervised_frechet_distance: float | None = None
    real_selfsupervised_frechet_distance: float | None = None
    real_selfsupervised_frechet_distance_interval: list | None = None
    selfsupervised_kernel_distance: float | None = None
    real_selfsupervised_kernel_distance: float | None = None
    real_selfsupervised_kernel_distance_interval: list | None = None
    precision: float | None = None  # Share inside the real images' k-NN manifold (quality).
    real_precision: float | None = None
    recall: float | None = None  # Share of real images inside the generated ones' manifold (variety).
    real_recall: float | None = None
    density: float | None = None  # Mean real k-NN balls entered per image, over k (about 1 for real).
    real_density: float | None = None
    coverage: float | None = None  # Share of real k-NN balls that hold a generated image.
    real_coverage: float | None = None
    copy_share: float | None = None  # Share of near-copies of training images.
    real_copy_share: float | None = None  # The same for held-out real images (about 1%).
    copies_training_images: bool | None = None  # copy_share above neighbours.COPY_FLAG_SHARE.
    code_r2: list | None = None  # InfoGAN: R² of each continuous code, read back by a fresh regressor.
    code_r2_shuffled: list | None = None  # The same regressor trained on shuffled codes: about 0.

    def scalars(self):
        """The per-epoch figures for history.csv, the plot and TensorBoard."""
        figures = {prefix + name: getattr(self, prefix + name) for name in PAIRED_SCALARS
                   for prefix in ('', 'real_') if getattr(self, name) is not None}
        if self.collapsed_classes is not None:
            figures['collapsed_classes'] = float(len(self.collapsed_classes))
        if self.label_accuracy is not None:
            figures['label_accuracy'] = self.label_accuracy
        for i, r2 in enumerate(self.code_r2 or []):
            figures[f'code_r2_{i + 1}'] = r2
        return {artifacts.METRIC_PREFIX + key: value for key, value in figures.items()}

    def _fd_name(self):
        return 'FID' if self.metric == INCEPTION else 'FD'

    def summary(self):
        """One line: the headline figures."""
        parts = [f'{self._fd_name()} {self.frechet_distance:.3g} (real {self.real_frechet_distance:.3g})']
        if self.kernel_distance is not None:
            parts.append(f'KID {self.kernel_distance:.3g} (real {self.real_kernel_distance:.3g})')
        if self.classifier_score is not None:
            parts += [f'classifier score {self.classifier_score:.2f} (real {self.real_classifier_score:.2f})',
                      f'class coverage {self.class_coverage:.2f} (real {self.real_class_coverage:.2f})',
                      f'ambiguity {self.class_ambiguity:.2f} (real {self.real_class_ambiguity:.2f})',
                      f'class mix off by {self.class_share_distance:.3f} '
                      f'(real {self.real_class_share_distance:.3f})']
        if self.label_accuracy is not None:
            parts.append(f'label accuracy {self.label_accuracy:.3f}')
        if self.collapsed_classes is not None:
            parts.append(f'collapsed classes: {", ".join(self.collapsed_classes) or "none"}')
        if self.selfsupervised_frechet_distance is not None:
            parts.append(f'self-supervised FD {self.selfsupervised_frechet_distance:.3g} '
                         f'(real {self.real_selfsupervised_frechet_distance:.3g})')
        if self.precision is not None:
            parts += [f'precision {self.precision:.2f} (real {self.real_precision:.2f})',
                      f'recall {self.recall:.2f} (real {self.real_recall:.2f})',
                      f'near-copies {self.copy_share:.1%} (real {self.real_copy_share:.1%})'
                      + (' COPIES TRAINING IMAGES' if self.copies_training_images else '')]
        if self.code_r2 is not None:
            parts.append('code R² ' + ' / '.join(f'{r2:.2f}' for r2 in self.code_r2)
                         + ' (shuffled ' + ' / '.join(f'{r2:.2f}' for r2 in self.code_r2_shuffled) + ')')
        return ', '.join(parts)

    @staticmethod
    def _rows(rows):
        """Table rows of (label, value, real value, format, note); rows without a value are left out."""
        return [f'  {label:<19}{value:10{spec}}   real {real:{spec}} {note}'.rstrip()
                for label, value, real, spec, note in rows if value is not None]

    @staticmethod
    def _floor_note(value, real, interval, ratio=True):
        """'(N.Nx the floor; real A-B over re-splits)', the parts that apply."""
        parts = [f'{value / real:.1f}x the floor'] if ratio and real > 0 else []
        if interval:
            parts.append(f'real {interval[0]:.3g} to {interval[1]:.3g} over re-splits')
        return f'({"; ".join(parts)})' if parts else ''

    def _distance_rows(self, prefix):
        fd, kid = prefix + 'frechet_distance', prefix + 'kernel_distance'
        value = lambda name: getattr(self, name)
        rows = [('Frechet distance', value(fd), value('real_' + fd), '.4g',
                 self._floor_note(value(fd), value('real_' + fd), value(f'real_{fd}_interval')))]
        if value(kid) is not None:
            rows.append(('kernel distance', value(kid), value('real_' + kid), '.3g',
                         self._floor_note(value(kid), value('real_' + kid), value(f'real_{kid}_interval'),
                                          ratio=False)))
        return rows

    def _figure_rows(self):
        rows = [*self._distance_rows(''),
                ('classifier score', self.classifier_score, self.real_classifier_score, '.3f', ''),
                ('  coverage', self.class_coverage, self.real_class_coverage, '.3f',
                 '(entropy of the class mix, nats)'),
                ('  ambiguity', self.class_ambiguity, self.real_class_ambiguity, '.3f',
                 '(mean entropy per image, nats)'),
                ('class mix distance', self.class_share_distance, self.real_class_share_distance, '.3f',
                 '(total variation to the reference)')]
        return self._rows(rows)

    def _selfsupervised_rows(self):
        if self.precision is None:
            return []
        lines = [] if self.metric == SELF_SUPERVISED else ['In the self-supervised encoder\'s features:']
        rows = [*(self._distance_rows('selfsupervised_') if self.selfsupervised_frechet_distance is not None
                  else []),
                ('precision', self.precision, self.real_precision, '.3f',
                 '(share inside the real images\' k-NN manifold)'),
                ('recall', self.recall, self.real_recall, '.3f',
                 '(share of real images inside the generated ones\')'),
                ('density', self.density, self.real_density, '.3f', ''),
                ('coverage', self.coverage, self.real_coverage, '.3f', '(share of real k-NN balls reached)'),
                ('near-copies', self.copy_share, self.real_copy_share, '.3f',
                 '(closer to a training image than 99% of held-out real images)')]
        lines += self._rows(rows)
        if self.copies_training_images:
            lines.append(f'  COPIES TRAINING IMAGES: {self.copy_share:.1%} of generated images are near-copies, '
                         f'held-out real images {self.real_copy_share:.1%}')
        return lines

    def _code_rows(self):
        if self.code_r2 is None:
            return []
        return (['InfoGAN\'s continuous codes, R² of a fresh regressor on new samples:']
                + [f'  {f"code {i + 1}":<19}{r2:10.3f}   shuffled-code control {control:.3f}'
                   for i, (r2, control) in enumerate(zip(self.code_r2, self.code_r2_shuffled))])

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
        """A table for people: headline figures, one row per class (classifier features), then the
        self-supervised figures and InfoGAN's codes."""
        title = f'Evaluation of {self.num_samples} generated images in {self.metric} features'
        if self.classifier_test_accuracy is not None:
            title += f' (classifier test accuracy {self.classifier_test_accuracy:.4f})'
        lines = [title, *self._figure_rows()]
        if self.label_accuracy is not None:
            lines.append(f'  {"label accuracy":<19}{self.label_accuracy:10.3f}')
        if self.collapsed_classes is not None:
            lines.append(f'  {"collapsed classes":<19}{", ".join(self.collapsed_classes) or "none"}')
            lines += self._class_rows()
        lines += self._selfsupervised_rows() + self._code_rows()
        return '\n'.join(lines)

    def save_json(self, path):
        """Writes all figures as JSON (NaN as null), atomically, to any tf.io.gfile path."""
        clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v
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
    """`metric`, checked against the data; None picks 'classifier' for labeled data, else
    'selfsupervised'."""
    if metric is None:
        return CLASSIFIER if data.labeled else SELF_SUPERVISED
    if metric not in METRICS:
        raise errors.ConfigError(f"metric={metric!r} is unknown; use {', '.join(map(repr, METRICS))}.")
    if metric == CLASSIFIER and not data.labeled:
        raise errors.ConfigError(f"metric='classifier' needs labeled data but {data.name!r} has no labels; "
                                 f"use metric='selfsupervised'.")
    return metric


def _check_test_matches(data, test):
    if test is not None and (tuple(test.image_shape) != tuple(data.image_shape)
                             or test.num_classes != data.num_classes):
        raise errors.ConfigError(f'test {test.name!r} ({tuple(test.image_shape)}, {test.num_classes} classes) '
                                 f'does not match data {data.name!r} ({tuple(data.image_shape)}, '
                                 f'{data.num_classes} classes); pass the test split of the same data.')


def _subset(arrays, count):
    """At most `count` rows of each of `arrays`, the same rows for each, chosen by SAMPLE_SEED and
    kept in order."""
    if len(arrays[0]) <= count:
        return arrays
    rows = np.sort(np.random.default_rng(SAMPLE_SEED).permutation(len(arrays[0]))[:count])
    return tuple(array[rows] for array in arrays)


class Evaluator:
    """Measures generators against one data set; the feature networks and real-data figures are
    computed once here and shared by every `evaluate` call."""

    def __init__(self, data: 'ImageData', test: 'ImageData | None' = None, num_samples: int | None = None,
                 metric: str | None = None, cache_dir: str | None = None,
                 classifier_config: classifier.ClassifierConfig | None = None,
                 inception_weights: str = 'imagenet', real_examples: int = REAL_EXAMPLES,
                 selfsupervised: bool = True, encoder_config: encoder.EncoderConfig | None = None,
                 code_config: codes.CodeConfig | None = None):
        """`data`, `test`: `tfgan2.data.ImageData`; with no `test`, a deterministic part of `data`
        (up to a fifth, at most `real_examples`) is held out for the real-data figures.
        `selfsupervised`: also measure in the self-supervised encoder's features (always so with
        metric='selfsupervised'); the encoder trains on the data once and is cached, like the
        classifier. `*_config`: how the classifier, the encoder and InfoGAN's code regressors train."""
        self.metric = choose_metric(metric, data)
        classifier_config = classifier_config or classifier.ClassifierConfig()
        encoder_config = encoder_config or encoder.EncoderConfig()
        self.code_config = code_config or codes.CodeConfig()
        _check_test_matches(data, test)
        self.image_shape = tuple(data.image_shape)
        self.num_classes = data.num_classes
        self.class_names = list(data.class_names or [str(c) for c in range(data.num_classes)])
        # Built first: a missing weights file fails before any data is read.
        self.inception = inception.InceptionFeatures(inception_weights) if self.metric == INCEPTION else None
        uses_encoder = selfsupervised or self.metric == SELF_SUPERVISED
        train_examples = max(classifier_config.max_train_examples if self.metric == CLASSIFIER else 0,
                             encoder_config.max_train_examples if uses_encoder else 0)
        real, train = self._real_and_train(data, test, real_examples, train_examples)
        self.classifier = (classifier.load_or_train(data.name, *_subset(train, classifier_config.max_train_examples),
                                                    data.num_classes, cache_dir, classifier_config)
                           if self.metric == CLASSIFIER else None)
        train_images = _subset(train, encoder_config.max_train_examples)[0] if uses_encoder else None
        self.encoder = (encoder.load_or_train(data.name, train_images, cache_dir, encoder_config)
                        if uses_encoder else None)
        self._measure_real(*real, num_samples, data.name, train_images, held_out_of_data=test is None)

    def _real_and_train(self, data, test, real_examples, train_examples):
        """((real images, labels), (training images, labels) or None), disjoint."""
        if test is None:
            held_out = min(real_examples, data.num_examples // 5 if train_examples else data.num_examples)
            return sample_arrays(data, [held_out, train_examples])
        train = sample_arrays(data, [train_examples])[0] if train_examples else None
        return sample_arrays(test, [real_examples])[0], train

    def _measure_real(self, images, labels, num_samples, name, train_images, held_out_of_data):
        """Splits the real images into the reference half B and the perfect-generator half A, and
        measures A (the first `num_samples` of it), the classifier's accuracy on B, the floors'
        intervals, and the near-copy threshold."""
        half = len(images) // 2
        if half < 2:
            raise errors.ConfigError(f'{len(images)} real images of {name!r} are left for the real-data '
                                     f'figures; evaluation needs at least 4 (two halves of two).')
        order = np.random.default_rng(SAMPLE_SEED).permutation(len(images))
        self.num_samples = num_samples or half
        count = min(self.num_samples, half)  # The floors carry the small-sample bias of the generated set.
        halves = self._features(images[order[:2 * half]])
        half_a = {space: features[:half] for space, features in halves.items()}
        self._set_reference({space: features[half:] for space, features in halves.items()})
        self.classifier_test_accuracy = (
            float(np.mean(self._reference_predicted == labels[order[half:2 * half]]))
            if self.classifier else None)
        if self.encoder:
            self._set_copy_check(half_a[SELF_SUPERVISED], train_images, held_out_of_data)
        self.real = self._measure({space: features[:count] for space, features in half_a.items()},
                                  self._copy_distances_of_half_a[:count] if self.encoder else None)
        self.real_intervals = self._floor_intervals(halves, count, half)

    def _features(self, images):
        """{space: features} of images in each feature space used, plus 'logits' with the
        classifier."""
        features = {}
        if self.classifier:
            features[CLASSIFIER], features['logits'] = self.classifier.features_and_logits(images)
        if self.inception:
            features[INCEPTION] = self.inception.features(images)
        if self.encoder:
            features[SELF_SUPERVISED] = self.encoder.features(images)
        return features

    def _set_reference(self, features):
        """Real half B, the reference: its features, Fréchet statistics, k-NN manifold and classes."""
        self._reference = features
        self._frechet = {space: metrics.FrechetReference(features[space]) for space in METRICS if space in features}
        if self.encoder:
            self._manifold = neighbours.ManifoldReference(features[SELF_SUPERVISED])
        if 'logits' in features:
            self._reference_predicted = features['logits'].argmax(axis=-1)
            self._reference_share = metrics.class_shares(self._reference_predicted, self.num_classes)

    def _set_copy_check(self, half_a, train_images, held_out_of_data):
        """Near-copy threshold from real half B's distances to the training images; which images
        count as training images for each set. Real images held out of the data the GAN trained
        on were training images too: each half then also counts the other, and generated images
        both."""
        train = self.encoder.features(train_images)
        half_b = self._reference[SELF_SUPERVISED]
        others = (half_a, half_b) if held_out_of_data else ()
        self._copy_references = (train, *others)
        self._copy_check = neighbours.CopyCheck(neighbours.nearest_distance(half_b, train, *others[:1]))
        self._copy_distances_of_half_a = neighbours.nearest_distance(half_a, train, *others[1:])

    def _measure(self, features, copy_distances):
        """The figures of images with these features, named as Evaluation's fields, plus the
        'predicted' classes."""
        primary = features[self.metric]
        figures = {'frechet_distance': self._frechet[self.metric].distance(primary)}
        if self.metric != CLASSIFIER:
            figures['kernel_distance'] = metrics.kernel_distance(primary, self._reference[self.metric])
        if self.encoder:
            own = features[SELF_SUPERVISED]
            if self.metric != SELF_SUPERVISED:
                figures['selfsupervised_frechet_distance'] = self._frechet[SELF_SUPERVISED].distance(own)
                figures['selfsupervised_kernel_distance'] = metrics.kernel_distance(
                    own, self._reference[SELF_SUPERVISED])
            figures.update(self._manifold.figures(own), copy_share=self._copy_check.share(copy_distances))
        if 'logits' not in features:
            return figures
        logits = features['logits']
        predicted = logits.argmax(axis=-1)
        share, diversity = metrics.class_diversity(primary, predicted, self.num_classes)
        coverage, ambiguity = metrics.classifier_score_parts(logits)
        return {**figures, 'classifier_score': metrics.classifier_score(logits),
                'class_coverage': coverage, 'class_ambiguity': ambiguity,
                'class_share_distance': metrics.total_variation_distance(share, self._reference_share),
                'class_share': share.tolist(), 'class_diversity': diversity.tolist(),
                'predicted': predicted}

    def _floor_intervals(self, halves, count, half):
        """{real_NAME_interval: [low, high]} of each floor over re-splits of both halves into a
        set of `count` and a reference of `half` images; none in Inception's 2048-d features,
        where each re-split would cost seconds of eigendecompositions."""
        spaces = {'': self.metric, 'selfsupervised_': SELF_SUPERVISED if self.metric != SELF_SUPERVISED else None}
        measures = {'frechet_distance': lambda a, b: metrics.FrechetReference(b).distance(a),
                    'kernel_distance': lambda a, b: metrics.kernel_distance(a, b, num_subsets=10)}
        intervals = {}
        for prefix, space in spaces.items():
            if space not in halves or space == INCEPTION:
                continue
            for name, measure in measures.items():
                if name == 'kernel_distance' and space == CLASSIFIER:
                    continue
                intervals[f'real_{prefix}{name}_interval'] = list(neighbours.resampled_interval(
                    halves[space], (count, half), measure, FLOOR_RESPLITS, seed=SAMPLE_SEED))
        return intervals

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
        features = self._features(self._generate(generate, requested))
        copy_distances = (neighbours.nearest_distance(features[SELF_SUPERVISED], *self._copy_references)
                          if self.encoder else None)
        fake, real = self._measure(features, copy_distances), self.real
        evaluation = Evaluation(num_samples=self.num_samples, metric=self.metric,
                                **{k: v for k, v in fake.items() if k != 'predicted'},
                                **{'real_' + k: v for k, v in real.items() if k != 'predicted'},
                                **self.real_intervals)
        if self.encoder:
            evaluation.copies_training_images = fake['copy_share'] > neighbours.COPY_FLAG_SHARE
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
        draws classes of the data; for InfoGAN, also how well each continuous code can be read
        back from the images (`tfgan2.evaluation.codes`)."""
        class_conditional = gan.draws_dataset_classes
        if class_conditional and gan.num_classes != self.num_classes:
            raise errors.ConfigError(f'The GAN draws {gan.num_classes} classes but the evaluation data has '
                                     f'{self.num_classes}: evaluate against the data it was trained on.')
        evaluation = self.evaluate(gan_sampler(gan, seed), class_conditional)
        if gan.kind == 'infogan':
            r2, shuffled = codes.code_r_squared(gan, self.code_config)
            evaluation.code_r2, evaluation.code_r2_shuffled = r2.tolist(), shuffled.tolist()
        return evaluation


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
