"""tfgan2-evaluate --model_dir without --data: the file or folder the run recorded, read only
while it is still there and still holds the images the run trained on; otherwise one line
asking for --data."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import PATIENCE_S, synthetic_digits, tiny_trainer

from tfgan2 import data


def save_digits(path, count):
    (images, labels), (test_images, test_labels) = synthetic_digits(count, seed=0), synthetic_digits(100, seed=1)
    np.savez(path, x_train=images, y_train=labels, x_test=test_images, y_test=test_labels)


@pytest.fixture(scope='module')
def npz_run(tmp_path_factory):
    """A tiny CGAN run trained on digits.npz (200 images, and 100 test images): its folder."""
    root = tmp_path_factory.mktemp('recorded')
    save_digits(root / 'digits.npz', 200)
    train = data.load(str(root / 'digits.npz'))
    tiny_trainer(root / 'run', train, model='cgan', steps_per_epoch=1).fit(train, epochs=1)
    return root


def evaluate(model_dir, cache):
    result = subprocess.run([sys.executable, '-m', 'tfgan2.cli.evaluate', f'--model_dir={model_dir}',
                             '--num_samples=50'], capture_output=True, text=True, timeout=PATIENCE_S,
                            env={**os.environ, 'TFGAN2_CACHE': str(cache)})
    return result, result.stderr.strip().splitlines()[-1]


def test_a_run_is_evaluated_against_the_file_it_recorded(npz_run, tmp_path):
    result, _ = evaluate(npz_run / 'run', tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f'{npz_run / "run"} on npz:{npz_run / "digits.npz"}:')
    assert 'label accuracy' in result.stdout
    assert 'Training the digits evaluation classifier on 200 images' in result.stderr  # the train split


EVALUATE_RUNS = """
import json, sys
from absl import flags
from absl.testing import flagsaver
from tfgan2.cli import evaluate, with_one_line_errors
exits = []
for model_dir in json.loads(sys.argv[1]):
    with flagsaver.flagsaver():
        flags.FLAGS(['tfgan2-evaluate', f'--model_dir={model_dir}'])
        try:
            with_one_line_errors(evaluate.main)([])
            exits.append(0)
        except SystemExit as e:
            exits.append(str(e.code))
print(json.dumps(exits))
"""


def test_a_recorded_path_that_no_longer_holds_the_data_asks_for_data_in_one_line(npz_run, tmp_path):
    changes = {  # what happened to the recorded file -> the end of the one line
        'moved': 'which is not there any more; pass those images with --data to evaluate against them.',
        'relative': 'which is not there any more; pass those images with --data to evaluate against them.',
        'a folder': 'which is not there any more; pass those images with --data to evaluate against them.',
        'other images': 'no longer holds the images the run trained on (num_examples 150 (recorded: 200)); '
                        'pass those images with --data.'}
    for change in changes:
        folder = tmp_path / change.replace(' ', '_')
        run_dir = shutil.copytree(npz_run / 'run', folder / 'run')
        digits = folder / 'digits.npz'
        record = json.loads((run_dir / 'gan.json').read_text())
        record['data']['source'] = 'npz:digits.npz' if change == 'relative' else f'npz:{digits}'
        (run_dir / 'gan.json').write_text(json.dumps(record))
        if change == 'a folder':
            digits.mkdir()
        elif change == 'other images':
            save_digits(digits, 150)
    result = subprocess.run([sys.executable, '-c', EVALUATE_RUNS,
                             json.dumps([str(tmp_path / change.replace(' ', '_') / 'run') for change in changes])],
                            capture_output=True, text=True, timeout=PATIENCE_S, cwd=npz_run,  # where digits.npz is
                            env={**os.environ, 'TFGAN2_CACHE': str(tmp_path / 'cache')})
    assert result.returncode == 0, result.stderr[-2000:]
    exits = json.loads(result.stdout.strip().splitlines()[-1])
    for (change, ending), message in zip(changes.items(), exits):
        assert message.startswith('error: ') and message.endswith(ending), (change, message)
    assert not (tmp_path / 'cache').exists()  # refused before any classifier was trained
