"""How a run trains: the one declaration of every training setting, its default and its help
text. `tfgan2-train` derives its flags from it. No TensorFlow here, so reading the settings
loads none (the command's model flags come from the model classes, which do)."""

import dataclasses
import math

from tfgan2 import errors


def _setting(default, help_text):
    return dataclasses.field(default=default, metadata={'help': help_text})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are the measured recipe (docs/recipe.md)."""
    batch_size: int = _setting(64, 'Images per step, the global batch: split across replicas.')
    g_learning_rate: float = _setting(1e-3, 'Adam learning rate of the generator.')
    d_learning_rate: float = _setting(1e-3, 'Adam learning rate of the discriminator.')
    g_beta_1: float = _setting(0.0, 'Adam beta_1 of the generator.')
    d_beta_1: float = _setting(0.0, 'Adam beta_1 of the discriminator.')
    g_beta_2: float = _setting(0.99, 'Adam beta_2 of the generator.')
    d_beta_2: float = _setting(0.99, 'Adam beta_2 of the discriminator.')
    n_critic: int = _setting(1, 'Discriminator updates per generator update (WGAN-GP\'s 5), each on the same '
                                'real batch with new latents; the last is made with the generator\'s.')
    ema_decay: float = _setting(0.99, 'Decay of the moving average of the generator\'s weights that '
                                      'previews, evaluation and exports use; 0: the trained weights.')
    seed: int = _setting(0, 'Seed of the noise, the data order and the preview grids.')
    steps_per_epoch: int | None = _setting(None, 'Cap on the steps of an epoch (default: the whole data).')
    shuffle_buffer: int = _setting(10_000, 'Shuffle buffer (images) of data that streams because it does '
                                           'not fit in memory; its order then also depends on '
                                           'TensorFlow\'s global seed.')
    checkpoint_every: int = _setting(200, 'Steps between checkpoints; every epoch end saves too.')
    keep_checkpoints: int = _setting(3, 'How many checkpoints to keep.')
    log_every: int = _setting(20, 'Steps between TensorBoard scalars.')
    jit_compile: bool = _setting(False, 'Compile the forward and backward pass with XLA (one device).')
    steps_per_execution: int = _setting(1, 'Training steps per tf.function call; more cut Python '
                                           'overhead where steps are short (GPU, TPU).')
    verbose: bool = _setting(True, 'Show progress within each epoch: a live bar on a terminal, else a plain '
                                   'line every 30 s and one at the end of the epoch.')

    def __post_init__(self):
        checks = [('batch_size', self.batch_size >= 1, 'at least 1'),
                  ('g_learning_rate', 0 < self.g_learning_rate < math.inf, 'greater than 0 (and finite)'),
                  ('d_learning_rate', 0 < self.d_learning_rate < math.inf, 'greater than 0 (and finite)'),
                  ('g_beta_1', 0 <= self.g_beta_1 < 1, 'in [0, 1)'),
                  ('d_beta_1', 0 <= self.d_beta_1 < 1, 'in [0, 1)'),
                  ('g_beta_2', 0 <= self.g_beta_2 < 1, 'in [0, 1)'),
                  ('d_beta_2', 0 <= self.d_beta_2 < 1, 'in [0, 1)'),
                  ('n_critic', self.n_critic >= 1, 'at least 1'),
                  ('ema_decay', 0 <= self.ema_decay < 1, 'in [0, 1), e.g. 0.99 (0 uses the trained weights)'),
                  ('seed', 0 <= self.seed < 2**32, 'in [0, 2**32)'),
                  ('steps_per_epoch', self.steps_per_epoch is None or self.steps_per_epoch >= 1,
                   'at least 1, or None for the whole data'),
                  ('shuffle_buffer', self.shuffle_buffer >= 1, 'at least 1'),
                  ('checkpoint_every', self.checkpoint_every >= 1, 'at least 1'),
                  ('keep_checkpoints', self.keep_checkpoints >= 1, 'at least 1'),
                  ('log_every', self.log_every >= 1, 'at least 1'),
                  ('steps_per_execution', self.steps_per_execution >= 1, 'at least 1')]
        for name, valid, expected in checks:
            if not valid:
                raise errors.ConfigError(f'{name}={getattr(self, name)}: use a value {expected}.')
