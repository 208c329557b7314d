"""Named recipes: the loss, penalty and update schedule of a known GAN variant, as GAN
hyperparameters and `TrainConfig` settings that go together. Any model takes any recipe:

    tfgan2-train --model=dcgan --recipe=wgan_gp           # settings given as flags still win

    recipe = tfgan2.recipes.RECIPES['wgan_gp']
    gan = tfgan2.build_gan('dcgan', data, **recipe.hyperparameters)
    trainer = tfgan2.Trainer(gan, 'runs/wgan', tfgan2.TrainConfig(**recipe.config))

Plain settings, no TensorFlow.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    summary: str
    hyperparameters: dict
    config: dict


RECIPES = {
    'wgan_gp': Recipe(
        'WGAN-GP (Gulrajani et al. 2017): a Wasserstein critic with a gradient penalty of 10, 5 critic '
        'updates per generator update and Adam(1e-4, 0, 0.9), the paper\'s settings',
        hyperparameters=dict(loss='wasserstein', penalty='gradient', penalty_weight=10.0),
        config=dict(n_critic=5, g_learning_rate=1e-4, d_learning_rate=1e-4, g_beta_1=0.0, d_beta_1=0.0,
                    g_beta_2=0.9, d_beta_2=0.9)),
    'r3gan': Recipe(
        'R3GAN\'s objective (Huang et al. 2024): the relativistic pairing loss with R1 and R2 penalties, '
        'Adam(2e-4, 0, 0.99)',
        hyperparameters=dict(loss='relativistic', penalty='r1_r2'),
        config=dict(g_learning_rate=2e-4, d_learning_rate=2e-4, g_beta_1=0.0, d_beta_1=0.0, g_beta_2=0.99,
                    d_beta_2=0.99)),
    'hinge': Recipe(
        'The hinge loss of SAGAN and BigGAN (Lim & Ye 2017), with the package\'s other defaults',
        hyperparameters=dict(loss='hinge'), config={}),
}
