"""Flags shared by tfgan2-generate and serving/client.py: which signature to call, which
images to ask for, and where the grid goes."""

from absl import flags

flags.DEFINE_string('signature', 'from_seed',
                    'Signature to call: from_seed (labels + seed), png_from_seed (the same, as PNGs) '
                    'or serving_default (noise drawn here from --seed).')
flags.DEFINE_list('label', [], 'Classes to draw, one grid row each (conditional models), e.g. 0,1,2.')
flags.DEFINE_integer('num', 8, 'Images per label (per grid row); unconditional models: images in all.',
                     lower_bound=1, upper_bound=2**31 - 1)
flags.DEFINE_integer('seed', 0, 'Seed: the same seed gives the same images.', lower_bound=0, upper_bound=2**63 - 1)
flags.DEFINE_string('out', 'samples.png', 'Where to write the grid PNG.')
flags.register_validator('out', bool, 'pass where to write the grid, e.g. --out=samples.png')
