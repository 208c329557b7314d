"""README.md stays true: its Python snippet runs, and every flag its commands show exists."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import PATIENCE_S

README = os.path.join(os.path.dirname(__file__), '..', 'README.md')
COMMANDS = {'tfgan2-train': 'train', 'tfgan2-export': 'export', 'tfgan2-generate': 'generate',
            'tfgan2-evaluate': 'evaluate'}


def readme():
    with open(README) as f:
        return f.read()


def test_the_python_snippet_runs(tmp_path, monkeypatch):
    (snippet,) = re.findall(r'## Use it from Python.*?```python\n(.*?)```', readme(), re.S)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(snippet, 'README.md', 'exec'), namespace)  # noqa: S102 (our own README)
    assert namespace['history'].epoch == [0, 1] and namespace['more'].epoch == [2]
    assert namespace['samples'].shape == (16, 28, 28, 1)
    assert float(np.abs(namespace['samples']).max()) <= 1.0
    assert os.path.exists(os.path.join(namespace['path'], 'saved_model.pb'))
    assert (tmp_path / 'runs' / 'python.csv').exists() and (tmp_path / 'exports' / 'models.config').exists()


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_every_flag_shown_exists(command):
    shown = set()  # the flags after each mention of the command, in code blocks and inline code
    for arguments in re.findall(rf'{command}((?: +--[^\s`]+)+)', readme()):
        shown.update(re.findall(r'--([a-z_]+)', arguments))
    helpfull = subprocess.run([sys.executable, '-m', f'tfgan2.cli.{COMMANDS[command]}', '--helpfull'],
                              capture_output=True, text=True, timeout=PATIENCE_S).stdout
    defined = set(re.findall(r'--(?:\[no\])?([a-z_]+)', helpfull))
    undefined = {flag for flag in shown if flag not in defined and flag.removeprefix('no') not in defined}
    assert shown and not undefined, undefined
