"""What `pip install` asks for: no TensorFlow of its own, so it never installs one beside
tensorflow-cpu or another flavour; an extra per flavour for machines without one."""

import configparser
import os

from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The distributions that install the `tensorflow` module.
TENSORFLOW_FLAVOURS = {'tensorflow', 'tensorflow-cpu', 'tensorflow-gpu', 'tensorflow-intel', 'tensorflow-macos',
                       'tf-nightly', 'tf-nightly-cpu'}


def requirements(text):
    return [Requirement(line) for line in text.splitlines() if line.strip() and not line.strip().startswith('#')]


def test_the_install_requires_no_tensorflow_and_each_flavour_has_an_extra():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, 'setup.cfg'))
    required = {requirement.name for requirement in requirements(config['options']['install_requires'])}
    assert 'keras' in required and not required & TENSORFLOW_FLAVOURS
    extras = config['options.extras_require']
    flavours = {name: requirements(extras[name]) for name in ('tensorflow', 'and-cuda', 'cpu')}
    assert {name: [(r.name, sorted(r.extras)) for r in found] for name, found in flavours.items()} == {
        'tensorflow': [('tensorflow', [])], 'and-cuda': [('tensorflow', ['and-cuda'])], 'cpu': [('tensorflow-cpu', [])]}
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    assert "pip install '.[tensorflow]'" in readme and '`[cpu]`: tensorflow-cpu' in readme
