"""Evaluates a generator against a dataset's test split, through the dataset's evaluation classifier.

The test split is shuffled with a fixed seed and cut in two halves. Half B is the reference every
Fréchet distance is measured against; half A stands in for a perfect generator, so each figure
for generated images has its real-data value beside it, measured with the same sample sizes
(FD's real-vs-real floor, the real classifier score, real per-class diversity).

Generators come as `generate(count, labels)` callables returning images in [-1, 1]: `gan_sampler`
wraps a `tfgan2.models` GAN, `saved_model_sampler` an exported SavedModel's `from_seed` signature.
"""

import dataclasses
import json
import math
import os

import numpy as np
import tensorflow as tf

from tfgan2 import artifacts, data, export, models
from tfgan2.evaluation import classifier, metrics

GENERATION_BATCH = 500


@dataclasses.dataclass
class Evaluation:
    """Figures for one generator, each beside its real-data value (lists are per class)."""
    num_samples: int
    classifier_test_accuracy: float
    frechet_distance: float
    real_frechet_distance: float
    classifier_score: float
    real_classifier_score: float
    class_names: list
    class_share: list
    real_class_share: list
    class_diversity: list
    real_class_diversity: list
    collapsed_classes: dict  # class name -> why it is flagged ('dropped' or 'low diversity')
    label_accuracy: float | None = None  # only for generators that draw requested classes
    label_accuracy_per_class: list | None = None

    def scalars(self):
        """The per-epoch figures for history.csv, the plot and TensorBoard."""
        figures = {'frechet_distance': self.frechet_distance,
                   'real_frechet_distance': self.real_frechet_distance,
                   'classifier_score': self.classifier_score,
                   'real_classifier_score': self.real_classifier_score,
                   'collapsed_classes': float(len(self.collapsed_classes))}
        if self.label_accuracy is not None:
            figures['label_accuracy'] = self.label_accuracy
        return {artifacts.METRIC_PREFIX + key: value for key, value in figures.items()}

    def summary(self):
        """One line: the headline figures."""
        line = (f'FD {self.frechet_distance:.2f} (real {self.real_frechet_distance:.2f}), '
                f'classifier score {self.classifier_score:.2f} (real {self.real_classifier_score:.2f})')
        if self.label_accuracy is not None:
            line += f', label accuracy {self.label_accuracy:.3f}'
        collapsed = ', '.join(self.collapsed_classes) or 'none'
        return f'{line}, collapsed classes: {collapsed}'

    def report(self):
        """A table for people: headline figures, then one row per class."""
        lines = [f'Evaluation of {self.num_samples} generated images (classifier test accuracy '
                 f'{self.classifier_test_accuracy:.4f})',
                 f'  Frechet distance  {self.frechet_distance:10.3f}   real-vs-real floor '
                 f'{self.real_frechet_distance:.3f} (ratio {self.frechet_distance / max(self.real_frechet_distance, 1e-12):.1f}x)',
                 f'  classifier score  {self.classifier_score:10.3f}   real data {self.real_classifier_score:.3f}']
        if self.label_accuracy is not None:
            lines.append(f'  label accuracy    {self.label_accuracy:10.3f}')
        lines.append(f'  collapsed classes {", ".join(self.collapsed_classes) or "none"}')
        header = f'  {"class":<14}{"share":>7}{"real":>7}{"diversity":>11}{"real":>7}'
        if self.label_accuracy_per_class is not None:
            header += f'{"label acc":>11}'
        lines.append(header)
        for c, name in enumerate(self.class_names):
            row = (f'  {name[:13]:<14}{self.class_share[c]:7.3f}{self.real_class_share[c]:7.3f}'
                   f'{self.class_diversity[c]:11.2f}{self.real_class_diversity[c]:7.2f}')
            if self.label_accuracy_per_class is not None:
                row += f'{self.label_accuracy_per_class[c]:11.3f}'
            if name in self.collapsed_classes:
                row += f'  COLLAPSED ({self.collapsed_classes[name]})'
            lines.append(row)
        return '\n'.join(lines)

    def save_json(self, path):
        """Writes all figures as JSON (NaN as null), atomically."""
        clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
        record = {k: [clean(x) for x in v] if isinstance(v, list) else clean(v)
                  for k, v in dataclasses.asdict(self).items()}
        with artifacts.atomic_path(path) as tmp, open(tmp, 'w') as f:
            json.dump(record, f, indent=2)


class Evaluator:
    """Measures generators for one dataset; the classifier and real-data figures are computed
    once here and shared by every `evaluate` call."""

    def __init__(self, dataset_name='fashion_mnist', data_dir=None, num_samples=None, cache_dir=None,
                 classifier_config=classifier.ClassifierConfig(), verbose=True):
        self.classifier = classifier.load_or_train(dataset_name, data_dir, cache_dir, classifier_config,
                                                   verbose)
        test = data.load_dataset(dataset_name, data_dir, 'test')
        images, _ = classifier.dataset_arrays(test)
        half = len(images) // 2
        if half < 2:
            raise ValueError(f'The {dataset_name} test split has {len(images)} images; evaluation '
                             f'needs at least 4 (two halves of two).')
        order = np.random.default_rng(0).permutation(len(images))
        self.image_shape = test.image_shape
        self.class_names = test.class_names
        self.num_classes = test.num_classes
        self.num_samples = num_samples or half
        reference_features, _ = self.classifier.features_and_logits(images[order[half:2 * half]])
        self._reference = metrics.gaussian_statistics(reference_features)
        # Real figures from as many images as each evaluation generates (up to the half), so
        # the floor carries the same small-sample bias as the generated set's figures.
        self.real = self._measure(images[order[:min(self.num_samples, half)]])

    def _measure(self, images):
        """FD to the reference half, classifier score, predicted classes, class shares and diversity."""
        features, logits = self.classifier.features_and_logits(images)
        predicted = logits.argmax(axis=-1)
        share, diversity = metrics.class_diversity(features, predicted, self.num_classes)
        return {'frechet_distance': metrics.frechet_distance_from_statistics(
                    *metrics.gaussian_statistics(features), *self._reference),
                'classifier_score': metrics.classifier_score(logits),
                'predicted': predicted, 'share': share, 'diversity': diversity}

    def evaluate(self, generate, class_conditional=False):
        """Evaluates `num_samples` images from `generate(count, labels)` (images in [-1, 1]).

        With `class_conditional`, labels are requested evenly over the classes and label accuracy
        is measured; otherwise `generate` gets labels=None and samples on its own."""
        requested = np.arange(self.num_samples, dtype=np.int32) % self.num_classes
        chunks = []
        for start in range(0, self.num_samples, GENERATION_BATCH):
            count = min(GENERATION_BATCH, self.num_samples - start)
            chunks.append(np.asarray(generate(count, requested[start:start + count]
                                              if class_conditional else None)))
        images = np.concatenate(chunks)
        if images.shape[1:] != tuple(self.image_shape):
            raise ValueError(f'The generator makes images of shape {images.shape[1:]}, but the '
                             f'evaluation data has {tuple(self.image_shape)}: evaluate against the '
                             f'dataset the generator was trained on (--dataset/--data_dir).')
        fake, real = self._measure(images), self.real
        collapsed = metrics.collapsed_classes(fake['share'], fake['diversity'], real['share'],
                                              real['diversity'])
        evaluation = Evaluation(
            num_samples=self.num_samples, classifier_test_accuracy=self.classifier.test_accuracy,
            frechet_distance=fake['frechet_distance'], real_frechet_distance=real['frechet_distance'],
            classifier_score=fake['classifier_score'], real_classifier_score=real['classifier_score'],
            class_names=list(self.class_names), class_share=fake['share'].tolist(),
            real_class_share=real['share'].tolist(), class_diversity=fake['diversity'].tolist(),
            real_class_diversity=real['diversity'].tolist(),
            collapsed_classes={self.class_names[c]: why for c, why in collapsed.items()})
        if class_conditional:
            overall, per_class = metrics.label_accuracy(fake['predicted'], requested, self.num_classes)
            evaluation.label_accuracy, evaluation.label_accuracy_per_class = overall, per_class.tolist()
        return evaluation

    def evaluate_gan(self, gan, seed=0):
        """Evaluates a `tfgan2.models` GAN (its inference mode), requesting classes if it takes them."""
        class_conditional = draws_requested_classes(gan)
        if class_conditional and gan.num_classes != self.num_classes:
            raise ValueError(f'The GAN draws {gan.num_classes} classes but the evaluation data has '
                             f'{self.num_classes}: evaluate against the dataset it was trained on.')
        return self.evaluate(gan_sampler(gan, seed), class_conditional)


def draws_requested_classes(gan):
    """True when the GAN's `label` input selects a dataset class (not, e.g., the self-taught
    categorical code of an unsupervised InfoGAN)."""
    return gan.conditional and getattr(gan, 'supervised', True)


def gan_sampler(gan, seed=0):
    """`generate(count, labels)` drawing latents with the GAN's own `sample_latent`."""
    rng = tf.random.Generator.from_seed(seed)

    def generate(count, labels=None):
        labels = None if labels is None else tf.constant(labels, tf.int32)
        return gan.generate(gan.sample_latent(rng, count, labels=labels), training=False).numpy()
    return generate


def saved_model_sampler(path, seed=0):
    """(`generate(count, labels)`, takes_labels) for an exported generator, through its
    `from_seed` signature, so latents come from the model's own sampler. A `label` input is
    taken to be the dataset class (for an unsupervised InfoGAN it is its categorical code)."""
    loaded = tf.saved_model.load(export.resolve_saved_model(path))
    if export.FROM_SEED not in loaded.signatures:
        raise ValueError(f'{path} has no {export.FROM_SEED!r} signature (it has '
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


def run_dataset(model_dir):
    """The dataset name a training run recorded in its gan.json."""
    with open(os.path.join(model_dir, models.SPEC_FILE)) as f:
        return json.load(f)['dataset']


def epoch_hook(evaluator, gan, every, seed=0, verbose=True):
    """An `on_epoch_end` for `Trainer.fit`: every `every` epochs, evaluates `gan` on the same
    latents (so epochs compare fairly) and returns its `Evaluation.scalars()`; {} otherwise."""
    def on_epoch_end(epoch):
        if epoch % every:
            return {}
        evaluation = evaluator.evaluate_gan(gan, seed)
        if verbose:
            print(f'Epoch {epoch} quality: {evaluation.summary()}')
        return evaluation.scalars()
    return on_epoch_end
