"""Every flag value given to tfgan2-generate, tfgan2-export, tfgan2-evaluate and tfgan2-train
ends in a result or one line (issue 23, classes 6 and 7): a sweep over each flag's extremes,
one process per command (tests/command_sweep.py), around one tiny export built once. Flags
that make no sense are refused before TensorFlow loads where the command can tell, and
tfgan2-train refuses them before anything is written; a ram:// path warns that nothing
outlives the process."""

import os
import shutil

import pytest
from command_sweep import run_sweep
from conftest import make_idx_dir
from exported_models import export_run

LONG = 'x' * 300  # longer than a file name may be


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    """A cgan run and its export, a dcgan export, and damaged copies of both."""
    root = tmp_path_factory.mktemp('sweep')
    cgan_run, cgan_export = export_run(str(root), 'cgan')
    export_run(str(root), 'dcgan', seed=1)
    shutil.copytree(cgan_export, root / 'no-pb' / '1')
    os.remove(root / 'no-pb' / '1' / 'saved_model.pb')
    shutil.copytree(cgan_export, root / 'corrupt' / '1')
    (root / 'corrupt' / '1' / 'saved_model.pb').write_bytes(b'\x0bnot a SavedModel\xff')
    shutil.copytree(cgan_run, root / 'damaged-run')
    (root / 'damaged-run' / 'gan.json').write_text('{"model": "cgan", "config": {"noise_dim": 1e9}}')
    (root / 'a-file').write_text('')
    return root


def check(outcomes, cases):
    """Every outcome is a result, a refused flag or one error line; those with expectations
    match them: (kind, words that must appear in the line)."""
    problems = []
    for (args, expected), said in zip(cases, outcomes):
        if said['kind'] == 'bug' or expected and (
                said['kind'] != expected[0] or not all(word in said['line'] for word in expected[1:])):
            problems.append(f'{args}: expected {expected}, got {said["kind"]}: {said["line"][:300]!r}\n'
                            f'{said["stderr"][-1500:]}')
    assert not problems, '\n'.join(problems)


def test_generate_ends_in_a_grid_or_one_line_for_every_flag_extreme(root, tmp_path):
    cgan, dcgan, out = f'--saved_model={root}/exports/cgan', f'--saved_model={root}/exports/dcgan', tmp_path / 'g'
    cases = [  # flags refused by absl first: TensorFlow is not loaded yet
        (['--saved_model=', '--label=1'], ('flag', 'pass an export')),
        ([cgan, '--num=0'], ('flag', '--num')),
        ([cgan, f'--num={2**31}'], ('flag', '--num')),
        ([cgan, '--seed=-1'], ('flag', '--seed')),
        ([cgan, f'--seed={2**63}'], ('flag', '--seed')),
        ([cgan, '--seed=x'], ('flag', '--seed')),
        ([cgan, '--out=', '--label=1'], ('flag', 'pass where to write')),
        ([cgan, '--label=1', f'--out={out}/grid.png'], ('result',)),
        ([cgan, '--label=1', '--signature=png_from_seed', f'--out={out}/png.png'], ('result',)),
        ([cgan, '--label=0,9', '--signature=serving_default', f'--seed={2**63 - 1}', f'--out={out}/s.png'],
         ('result',)),
        ([dcgan, '--num=1', f'--out={out}/one.png'], ('result',)),
        ([cgan, '--label=1', '--out=ram://sweep/grid.png'], ('result',)),
        ([cgan], ('error', 'pass the classes to draw')),
        ([dcgan, '--label=1'], ('error', 'leave --label out')),
        ([cgan, '--label=x'], ('error', 'give class indices')),
        ([cgan, '--label=-1'], ('error', 'class indices are from 0 up')),
        ([cgan, '--label=1.5'], ('error', 'give class indices')),
        ([cgan, '--label=10'], ('error', 'label must hold class indices in [0, 10)')),
        ([cgan, f'--label={2**31}'], ('error', 'class indices are from 0 up')),
        ([cgan, '--label=99999999999999999999999'], ('error', 'class indices')),
        ([cgan, '--label=,'], ('error', 'give class indices')),
        ([cgan, '--label=' + ','.join(['0'] * 3000)], ('error', 'more than max_batch=1024')),
        ([cgan, '--label=1', '--num=1025'], ('error', 'more than max_batch=1024')),
        ([cgan, '--label=1', f'--num={2**31 - 1}', '--signature=serving_default'], ('error', 'ask for fewer')),
        ([cgan, '--label=1,2', f'--num={2**31 - 1}'], ('error', 'more than a request can count')),
        ([cgan, '--label=1', '--signature='], ('error', "no signature ''")),
        ([cgan, '--label=1', '--signature=__saved_model_init_op'], ('error', 'no signature')),
        ([f'--saved_model={root}/nowhere', '--label=1'], ('error', 'holds no SavedModel')),
        ([f'--saved_model={root}/a-file', '--label=1'], ('error', 'holds no SavedModel')),
        ([f'--saved_model={root}/runs/cgan-0', '--label=1'], ('error', 'holds no SavedModel')),
        ([f'--saved_model={root}/no-pb', '--label=1'], ('error', 'has no saved_model.pb')),
        ([f'--saved_model={root}/corrupt', '--label=1'], ('error', 'is not a readable SavedModel')),
        (['--saved_model=ram://nothing/here', '--label=1'], ('error', 'holds no SavedModel')),
        ([f'--saved_model={root}/{LONG}', '--label=1'], ('error',)),
        ([cgan, '--label=1', f'--out={root}/a-file/grid.png'], ('error', 'Cannot write')),
        ([cgan, '--label=1', f'--out={tmp_path}'], ('error', 'Cannot write')),
        ([cgan, '--label=1', f'--out={tmp_path}/{LONG}.png'], ('error', 'Cannot write')),
        ([cgan, '--label=1', '--out=/proc/grid.png'], ('error', 'Cannot write')),
    ]
    outcomes = run_sweep('tfgan2.cli.generate', [args for args, _ in cases])
    check(outcomes, cases)
    assert not any(said['tensorflow'] for said in outcomes[:7])  # refused before TensorFlow loaded
    assert sorted(os.listdir(out)) == ['grid.png', 'one.png', 'png.png', 's.png']
    assert 'nothing written there outlives the command' in outcomes[11]['stderr']


def test_export_ends_in_an_export_or_one_line_for_every_flag_extreme(root, tmp_path):
    run, base = f'--model_dir={root}/runs/cgan-0', f'--export_base={tmp_path}/exports'
    damaged = tmp_path / 'damaged-newest'
    shutil.copytree(root / 'runs' / 'cgan-0', damaged)
    os.rename(damaged / 'checkpoints' / 'ckpt-1.index', damaged / 'checkpoints' / 'ckpt-1.index.x')
    shutil.copytree(root / 'runs' / 'cgan-0' / 'checkpoints', damaged / 'checkpoints' / 'older')
    for name in os.listdir(damaged / 'checkpoints' / 'older'):  # an older readable ckpt-0, a damaged ckpt-1
        os.rename(damaged / 'checkpoints' / 'older' / name,
                  damaged / 'checkpoints' / name.replace('ckpt-1', 'ckpt-0'))
    (damaged / 'checkpoints' / 'ckpt-1.index').write_bytes(b'garbage')
    cases = [
        (['--model_dir='], ('flag', 'pass a training run')),
        ([run, '--export_base='], ('flag', 'pass the folder of exports')),
        ([run, base, '--version=0'], ('flag', '--version')),
        ([run, base, f'--version={2**63}'], ('flag', '--version')),
        ([run, base, '--max_batch=0'], ('flag', '--max_batch')),
        ([run, base, f'--max_batch={2**31}'], ('flag', '--max_batch')),
        ([run, base], ('result',)),
        ([run, base, f'--version={2**63 - 1}', f'--max_batch={2**31 - 1}'], ('result',)),
        ([run, base, '--version=1'], ('error', 'already exists')),
        ([run, base, '--version=1', '--overwrite'], ('result',)),
        ([run, base, '--model_name=ok.name-2', '--server_base=a "quoted"\nbase'], ('result',)),
        ([run, '--export_base=ram://sweep/exports'], ('result',)),
        ([run, base, '--model_name=../evil'], ('error', 'is not usable as a TF Serving model name')),
        ([run, base, '--model_name=models.config'], ('error', 'is not usable')),
        ([run, base, f'--model_name={LONG}'], ('error', 'Cannot create')),
        ([run, base, '--model_name=\u00e9t\u00e9'], ('error', 'is not usable')),
        ([run, f'--export_base={root}/a-file'], ('error', 'is a file')),
        ([run, '--export_base=/proc/exports'], ('error', 'Cannot create')),
        ([f'--model_dir={root}/nowhere', base], ('error', 'has no gan.json')),
        ([f'--model_dir={root}/a-file', base], ('error', 'has no gan.json')),
        ([f'--model_dir={root}/exports', base], ('error', 'has no gan.json')),
        ([f'--model_dir={root}/damaged-run', base], ('error', 'gan.json is not a tfgan2 run record')),
        ([f'--model_dir={damaged}', base], ('error', 'newest checkpoint', 'is damaged', 'ckpt-0')),
        ([f'--model_dir={damaged}', base, f'--checkpoint={damaged}/checkpoints/ckpt-0'], ('result',)),
        ([run, base, f'--checkpoint={root}/nowhere/ckpt-3'], ('error', 'names no checkpoint')),
        ([run, base, '--checkpoint=ram://nothing'], ('error', 'names no checkpoint')),
        ([run, base, f'--checkpoint={root}/runs/dcgan-1/checkpoints/ckpt-1'], ('error', 'does not fit this GAN')),
    ]
    outcomes = run_sweep('tfgan2.cli.export', [args for args, _ in cases])
    check(outcomes, cases)
    assert not any(said['tensorflow'] for said in outcomes[:6])
    assert 'nothing written there outlives the command' in outcomes[11]['stderr']
    assert f'Exported {root}/runs/cgan-0/checkpoints/ckpt-1 to' in outcomes[6]['stdout']
    assert not [name for name in os.listdir(tmp_path / 'exports' / 'cgan') if name.startswith('.')]


def test_evaluate_ends_in_figures_or_one_line_for_every_flag_extreme(root, tmp_path):
    idx = make_idx_dir(tmp_path / 'idx', 200, 60)
    run, export = f'--model_dir={root}/runs/cgan-0', f'--saved_model={root}/exports/cgan'
    data, cache = f'--data={idx}', f'--cache_dir={tmp_path}/cache'
    cases = [
        ([], ('error', 'Pass exactly one of --model_dir')),
        ([run, export], ('error', 'Pass exactly one of --model_dir')),
        ([export], ('error', '--saved_model needs --dataset or --data')),
        ([run, '--num_samples=1'], ('flag', '--num_samples')),
        ([run, f'--num_samples={10**7}'], ('flag', '--num_samples')),
        ([run, '--metric=fid'], ('flag', '--metric')),
        ([run, '--memory_budget_mb=-1'], ('flag', '--memory_budget_mb')),
        ([run, data, '--seed=-1'], ('flag', '--seed')),
        ([run, '--output='], ('flag', '--output')),
        ([run, data, cache, '--num_samples=20', f'--output={tmp_path}/figures.json'], ('result',)),
        ([export, data, cache, '--num_samples=20'], ('result',)),
        ([run], ('error', 'pass them with --data')),
        ([f'--model_dir={root}/nowhere'], ('error', 'has no gan.json')),
        ([f'--model_dir={root}/damaged-run', data], ('error', 'is not a tfgan2 run record')),
        ([run, f'--data={root}/nowhere'], ('error', 'does not exist')),
        ([run, data, '--dataset=mnist'], ('error', 'both name the images')),
        ([run, data, '--image_size=abc'], ('error', 'is not an image size')),
        ([run, data, '--image_size=0'], ('error', 'is not an image size')),
        ([run, data, '--image_size=100000'], ('error', 'is not an image size of at most 4096')),
        ([run, data, '--image_size=32'], ('error',)),
        ([run, data, f'--checkpoint={root}/nowhere/ckpt-1'], ('error', 'names no checkpoint')),
        ([f'--saved_model={root}/corrupt', data], ('error', 'is not a readable SavedModel')),
        ([run, data, '--metric=inception', f'--inception_weights={root}/nowhere.h5'],
         ('error', '--inception_weights=')),
        ([run, data, f'--cache_dir={root}/a-file', '--num_samples=20'], ('error',)),
        ([run, data, cache, '--num_samples=20', f'--output={root}/a-file/figures.json'], ('error', 'Cannot write')),
    ]
    outcomes = run_sweep('tfgan2.cli.evaluate', [args for args, _ in cases])
    check(outcomes, cases)
    assert not any(said['tensorflow'] for said in outcomes[:9])
    assert 'label accuracy' in outcomes[9]['stdout'] and os.path.exists(tmp_path / 'figures.json')


TINY = ['--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16']


def test_train_refuses_nonsense_flags_before_writing_anything(tmp_path):
    idx = make_idx_dir(tmp_path / 'idx')
    refused = [
        ('--epochs=-1', 'flag'), ('--epochs=0', 'flag'), ('--model_dir=', 'flag'), ('--batch_size=0', 'error'),
        ('--noise_dim=0', 'error'), ('--noise_dim=-3', 'error'), ('--noise_dim=1000000', 'error'),
        ('--kernel_size=0', 'error'), ('--dropout=1.5', 'error'), ('--dropout=-1', 'error'),
        ('--dropout=nan', 'error'), ('--generator_widths=0,0', 'error'), ('--discriminator_widths=8,x', 'error'),
        ('--discriminator_widths=100000,100000', 'error'), ('--g_learning_rate=inf', 'error'),
        ('--d_learning_rate=nan', 'error'), ('--g_learning_rate=0', 'error'), ('--seed=-1', 'error'),
        (f'--seed={2**32}', 'error'), ('--image_size=0', 'error'), ('--image_size=abc', 'error'),
        ('--image_size=100000', 'error'), ('--image_size=3', 'error'), ('--log_every=0', 'error'),
        ('--steps_per_epoch=0', 'error'), ('--ema_decay=1', 'error'), ('--g_beta_2=nan', 'error'),
        ('--clusters=0', 'error'), ('--clusters=1000000', 'error'), ('--model=nope', 'flag'),
        ('--strategy=nope', 'flag'), ('--eval_every=-1', 'flag'), ('--memory_budget_mb=-1', 'flag'),
        ('--class_weight=0.5', 'error'), ('--data=/no/such/folder', 'error'), ('--tpu=x', 'error'),
    ]
    cases = [[f'--data={idx}', f'--model_dir={tmp_path}/run{i}', *TINY, flag] for i, (flag, _) in enumerate(refused)]
    cases.append([f'--data={idx}', '--model_dir=ram://sweep/run', '--epochs=1', '--steps_per_epoch=1',
                  '--batch_size=8', *TINY])
    outcomes = run_sweep('tfgan2.cli.train', cases)
    check(outcomes[:-1], [(args, (kind,)) for args, (_, kind) in zip(cases, refused)])
    assert not [name for name in os.listdir(tmp_path) if name.startswith('run')]  # nothing written
    assert [said['line'] for said in outcomes if said['kind'] == 'error' and '\n' in said['line']] == []
    assert outcomes[-1]['kind'] == 'result', outcomes[-1]
    assert '--model_dir=ram://sweep/run is in this process\'s memory: nothing written there outlives the command' in (
        outcomes[-1]['stderr'])
