"""ACGAN (Odena et al. 2017): the discriminator sees only the image and has two heads, real/fake
and class. The class loss trains both networks: the discriminator learns to classify, the
generator learns to draw images classified as the label it was given."""

from tfgan2.models import cgan, registry
from tfgan2.models import hyperparameters as hp

CLASSIFIER_HYPERPARAMETERS = (
    hp.Hyperparameter('classifier', str, 'discriminative', 'the class head: ADC-GAN\'s discriminative '
                      'classifier of real and generated classes, TAC-GAN\'s twin, or the paper\'s auxiliary '
                      'classifier (docs/models.md)', choices=cgan.CLASSIFIERS),
    hp.Hyperparameter('fake_class_weight', float, 0.0, 'weight of the auxiliary or twin classifier\'s loss on '
                      'generated images\' labels (1 in the paper; 0: it learns classes from real images only)'),
)


@registry.register
class ACGAN(cgan.ConditionalGAN):
    """CGAN's generator, and a discriminator whose class head classifies the image alone.

    The class head is by default ADC-GAN's discriminative classifier (Hou et al. 2022), which
    tells each class of real images from the same class of generated ones; Odena's auxiliary
    classifier, with or without TAC-GAN's twin, pulls the generator towards few, clear-cut
    images per class (benchmarks/RESULTS.md). `cgan.classifier_losses` has all three. No
    Dropout by default, since learning real classes already regularizes the discriminator.
    """

    kind = 'acgan'
    HYPERPARAMETERS = hp.extend(
        cgan.CONDITIONAL_HYPERPARAMETERS, *CLASSIFIER_HYPERPARAMETERS,
        hp.Hyperparameter('class_weight', float, None, 'weight of the class terms against the real/fake terms '
                          '(default 1 for the discriminative classifier, as in the papers; 0.1 for the others, '
                          'whose pull 1 makes too strong)'),
        dropout=0.0)

    def resolve_defaults(self, values):
        cgan.require_classes(self.kind, self.num_classes)
        cgan.check_classifier(self.kind, values['classifier'], values['fake_class_weight'])
        if values['class_weight'] is None:
            values['class_weight'] = cgan.default_class_weight(values['classifier'])
        return super().resolve_defaults(values)

    def network_options(self):
        return {**super().network_options(), 'fake_class_head': self.hyperparameters.classifier != 'auxiliary'}

    def auxiliary_losses(self, real_outputs, fake_outputs, real_conditions, fake_conditions, latent):
        h = self.hyperparameters
        g_class, d_class, diagnostics = cgan.classifier_losses(
            h.classifier, real_outputs, fake_outputs, real_conditions, fake_conditions, h.fake_class_weight)
        return h.class_weight * g_class, h.class_weight * d_class, diagnostics
