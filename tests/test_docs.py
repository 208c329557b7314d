"""docs/ stays true: the variant of docs/adding_a_gan.md, written as its own module, trains,
resumes and exports through the library, its loss example plugs into every GAN, and
docs/hyperparameters.md lists what the models declare."""

import os
import re
import subprocess
import sys

from conftest import PATIENCE_S

DOCS = os.path.join(os.path.dirname(__file__), '..', 'docs')

# What the subprocess checks after running the page's usage example.
CHECKS = '''
import numpy as np
import tensorflow as tf
from tfgan2 import losses, rng
assert type(gan).__name__ == type(resumed).__name__ == 'FeatureMatchingGAN'
assert 'matching_loss' in history.history and np.isfinite(history.history['matching_loss']).all()
assert resumed.get_config() == gan.get_config() and resumed.hyperparameters.matching_weight == 0.5
np.testing.assert_allclose(resumed.sample(4, seed=1), gan.sample(4, seed=1), atol=1e-6)
more = tfgan2.Trainer(tfgan2.load_run('runs/feature_matching'), 'runs/feature_matching',
                      tfgan2.TrainConfig(batch_size=64, verbose=False)).fit(data, epochs=3)
assert more.epoch == [2]  # resumed where the first trainer stopped
assert os.path.exists(os.path.join(path, 'saved_model.pb'))
exec(LOSS_EXAMPLE, vars(losses))
minimax = tfgan2.build_gan('dcgan', data, loss='minimax', noise_dim=16, generator_widths=(32, 16),
                           discriminator_widths=(16, 32))
real, fake = tf.constant([[1.0]]), tf.constant([[-2.0]])
assert abs(float(losses.ADVERSARIAL_LOSSES['minimax'].generator(real, fake)) + np.log1p(np.exp(-2.0))) < 1e-6
assert np.isfinite(float(minimax.compute_losses(tf.zeros([2, 28, 28, 1]), tf.fill([2], -1),
                                                 rng.StatelessSampler(0))['g_loss']))
print('checked')
'''


def test_adding_a_gan_page_runs_as_written(tmp_path):
    with open(os.path.join(DOCS, 'adding_a_gan.md')) as f:
        module, usage, loss = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    (tmp_path / 'feature_matching.py').write_text(module)
    script = f'import os\nimport feature_matching\nLOSS_EXAMPLE = {loss!r}\n{usage}\n{CHECKS}'
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=PATIENCE_S, env={**os.environ, 'PYTHONPATH': os.pathsep.join(
                                [str(tmp_path), os.environ.get('PYTHONPATH', '')])})
    assert result.returncode == 0 and 'checked' in result.stdout, result.stderr[-3000:]


def test_hyperparameters_page_lists_every_hyperparameter_as_declared():
    from tfgan2 import models
    from tfgan2.models import hyperparameters
    table = hyperparameters.markdown_table(list(models.MODELS.values()))
    with open(os.path.join(DOCS, 'hyperparameters.md')) as f:
        assert table in f.read(), 'regenerate: python -m tfgan2.models.hyperparameters > docs/hyperparameters.md'
