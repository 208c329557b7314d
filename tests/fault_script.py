"""The faults of issue 23, class by class, as a user and a hostile environment meet them: each case
prints what the user sees (the one line a command ends with, or the warning it gives) and
whether it holds. Most cases run the commands themselves; a few need a moment no command
exposes (a callback, a write) and run the library.

    python tests/fault_script.py                  # every class, about 20 minutes on 2 cores
    python tests/fault_script.py --classes=1,5    # some of them
    python tests/fault_script.py --keep           # keep the work folder to look at

Class 3 fills a real disk: a small tmpfs, mounted when this process may mount (root). Class 9
reruns the tests that wait on events while busy processes load every core. Exits 1 if any
case does not hold.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from conftest import ctrl_c_at_its_default, make_idx_dir, synthetic_digits, wait_for  # noqa: E402

TINY = ['--model=dcgan', '--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16',
        '--batch_size=16', '--steps_per_epoch=2', '--checkpoint_every=1']
RESULTS = []


def report(title, said, holds):
    RESULTS.append(holds)
    print(f'  {"PASS" if holds else "FAIL"}  {title}\n        -> {said}', flush=True)


def command(module, *args, **popen):
    return subprocess.run([sys.executable, '-m', f'tfgan2.cli.{module}', *args], capture_output=True, text=True,
                          **popen)


def last_line(result):
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else f'(exit {result.returncode}, nothing on stderr)'


def one_line(result, *words):
    """Whether a command ended in one `error:`/`stopped:` line holding `words`, without a traceback."""
    line = last_line(result)
    return (result.returncode != 0 and 'Traceback' not in result.stderr and line.startswith(('error:', 'stopped:'))
            and all(word in line for word in words))


def files(folder):
    return {os.path.relpath(os.path.join(root, name), folder): open(os.path.join(root, name), 'rb').read()
            for root, _, names in os.walk(folder) for name in names if name != '.lock'}


def train(work, model_dir, *extra):
    return command('train', f'--data={work}/idx', f'--model_dir={model_dir}', *TINY, *extra)


def trained(work, name, epochs=2):
    """A finished tfgan2-train run: `epochs` epochs of 2 steps, checkpoints every step (3 kept)."""
    model_dir = f'{work}/{name}'
    result = train(work, model_dir, f'--epochs={epochs}')
    assert result.returncode == 0, result.stderr[-2000:]
    return model_dir


def class_1(work):
    print('1. A damaged newest checkpoint is repaired, not repeated')
    run = trained(work, 'run1')
    with open(f'{run}/checkpoints/ckpt-4.data-00000-of-00001', 'r+b') as f:
        f.truncate(100)
    result = command('export', f'--model_dir={run}', f'--export_base={work}/exports1')
    report('export with the newest checkpoint cut short', last_line(result), one_line(result, 'ckpt-3'))
    result = train(work, run, '--epochs=2')
    warnings = [line for line in result.stderr.splitlines() if 'damaged' in line or 'Moved' in line]
    report('rerun with the same --epochs', ' | '.join(warnings)[:300],
           result.returncode == 0 and any('Moved ckpt-4' in line for line in warnings)
           and os.path.exists(f'{run}/checkpoints/ckpt-4.index'))
    result = train(work, run, '--epochs=2')
    report('rerun again: no fallback', 'no warning' if 'damaged' not in result.stderr else result.stderr[-300:],
           result.returncode == 0 and 'trying the one before it' not in result.stderr)
    result = command('export', f'--model_dir={run}', f'--export_base={work}/exports1')
    report('export after the repair', result.stdout.splitlines()[0] if result.stdout else last_line(result),
           result.returncode == 0 and 'ckpt-4 to' in result.stdout)


def class_2(work):
    print('2. The run\'s own records are checked before training')
    run = trained(work, 'run2')
    damages = {
        'gan.json of garbage text': ('gan.json', b'model: dcgan\n'),
        'gan.json of random bytes': ('gan.json', random.Random(2).randbytes(500)),
        'gan.json asking a noise_dim of a million': ('gan.json', {'noise_dim': 10**6}),
        'gan.json with a setting the model refuses': ('gan.json', {'lecam_weight': -1.0}),
        'history.csv of garbage': ('history.csv', b'not,a\nhistory\n'),
        'history.csv with a word for an epoch': ('history.csv', b'epoch,step,g_loss\none,2,0.5\n'),
    }
    for title, (name, content) in damages.items():
        saved = open(f'{run}/{name}', 'rb').read()
        if isinstance(content, dict):  # settings written into the record's config
            record = json.loads(saved)
            record['config'].update(content)
            content = json.dumps(record).encode()
        open(f'{run}/{name}', 'wb').write(content)
        before = files(f'{run}/checkpoints')
        result = train(work, run, '--epochs=3')
        report(title, last_line(result), one_line(result, name) and files(f'{run}/checkpoints') == before)
        open(f'{run}/{name}', 'wb').write(saved)
    open(f'{run}/.lock', 'wb').write(random.Random(3).randbytes(300))
    result = train(work, run, '--epochs=3')
    report('.lock of random bytes (nobody holds it): taken over', f'exit {result.returncode}', result.returncode == 0)


@contextlib.contextmanager
def small_disk(work):
    folder = f'{work}/disk'
    os.makedirs(folder)
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', folder], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(['umount', '-l', folder])


def class_3(work):
    print('3. A full disk')
    with small_disk(work) as disk:
        if disk is None:
            report('mount a tmpfs to fill', 'not permitted here (run as root)', False)
            return
        from conftest import synthetic_data, tiny_trainer
        from test_disk_full import FullDisk, fill_at, leftovers

        from tfgan2 import artifacts, errors, load_run
        full, data = FullDisk(disk), synthetic_data()
        trainer = tiny_trainer(f'{disk}/lib', data)
        trainer.fit(data, epochs=1)
        try:
            trainer.fit(data, epochs=2, callbacks=[fill_at(full, on_train_batch_end=0)])
            said = 'no error'
        except errors.Error as e:
            said = str(e)
        report('at a checkpoint save', said, 'ckpt-6' in said and not leftovers(disk) and bool(load_run(f'{disk}/lib')))
        full.free()
        try:  # a scalar every step of 4 images: the summary writer flushes within the epoch
            tiny_trainer(f'{disk}/logs', data, batch_size=4, log_every=1, checkpoint_every=1000).fit(
                data, epochs=1, callbacks=[fill_at(full, on_train_batch_end=0)])
            said = 'no error'
        except errors.Error as e:
            said = str(e)
        report('at a summary write', said,
               said.startswith(f'Cannot write {disk}/logs/logs (') and 'No space left on device' in said
               and not leftovers(disk))
        full.free()
        real = artifacts.write_gif_frame

        def fill_then_write(*args, **kwargs):
            full.fill()
            return real(*args, **kwargs)
        artifacts.write_gif_frame = fill_then_write
        try:
            tiny_trainer(f'{disk}/gif', data).fit(data, epochs=1)
            said = 'no error'
        except errors.Error as e:
            said = str(e)
        artifacts.write_gif_frame = real
        report('at the GIF write', said, 'training.gif (No space left on device)' in said and not leftovers(disk))
        full.free()
        run = f'{disk}/cli'
        result = train(work, run, '--epochs=1')
        assert result.returncode == 0, result.stderr[-2000:]
        full.fill()
        result = train(work, run, '--epochs=2')
        report('tfgan2-train rerun on the full disk', last_line(result), one_line(result, 'No space left on device'))
        result = command('export', f'--model_dir={run}', f'--export_base={disk}/exports')
        report('tfgan2-export on the full disk', last_line(result),
               one_line(result, 'No space left on device') and not leftovers(disk))


def class_4(work):
    print('4. A streamed image file that fails mid-epoch')
    import imageio.v3 as iio
    folder = f'{work}/pngs'
    os.makedirs(folder)
    for i, image in enumerate(synthetic_digits(40)[0]):
        iio.imwrite(f'{folder}/{i:03d}.png', image)
    flags = [f'--data={folder}', '--memory_budget_mb=0', f'--model_dir={work}/run4', *TINY]
    assert command('train', *flags, '--epochs=1').returncode == 0
    victim = f'{folder}/017.png'
    original = open(victim, 'rb').read()
    open(victim, 'wb').write(original[:60])
    result = command('train', *flags[:-2], '--steps_per_epoch=3', '--checkpoint_every=1000', '--epochs=4')
    report('a PNG cut short', last_line(result), one_line(result, victim, 'The last checkpoint is'))
    open(victim, 'wb').write(original)
    result = command('train', *flags[:-2], '--steps_per_epoch=3', '--checkpoint_every=1000', '--epochs=4')
    report('fixed, rerun', f'exit {result.returncode}', result.returncode == 0)


def class_5(work):
    print('5. Signals at any moment')
    from exported_models import export_run
    from test_signals import SIGNALLED, STARTED

    def start(model_dir):
        return subprocess.Popen([sys.executable, '-c', STARTED, f'--data={work}/idx', f'--model_dir={model_dir}',
                                 *TINY[:-2], '--epochs=1000'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=ctrl_c_at_its_default)

    for title, signals, event in (('Ctrl-C while it starts', [signal.SIGINT], 'started'),
                                  ('SIGTERM while it starts', [signal.SIGTERM], 'started'),
                                  ('Ctrl-C twice in a row while training', [signal.SIGINT] * 2, 'history.csv'),
                                  ('SIGTERM then Ctrl-C while training', [signal.SIGTERM, signal.SIGINT],
                                   'history.csv')):
        model_dir = f'{work}/run5-{len(RESULTS)}'
        process = start(model_dir)
        process.stdout.readline()
        if event == 'history.csv':
            wait_for(f'{model_dir}/history.csv', process)
        for signum in signals:
            process.send_signal(signum)
        _, stderr = process.communicate()
        lines = stderr.strip().splitlines()
        report(title, lines[-1] if lines else '(nothing)',
               'Traceback' not in stderr and bool(lines) and lines[-1].startswith('stopped:'))
    model_dir, _ = export_run(f'{work}/five', 'dcgan')
    for title, module, signum, moment, args in (
            ('tfgan2-export: SIGTERM as it loads TensorFlow', 'export', signal.SIGTERM, 'importing',
             [f'--model_dir={model_dir}', f'--export_base={work}/five/exports']),
            ('tfgan2-evaluate: Ctrl-C as it loads TensorFlow', 'evaluate', signal.SIGINT, 'importing',
             [f'--model_dir={model_dir}', f'--data={work}/idx']),
            ('tfgan2-export: SIGTERM while it writes the SavedModel', 'export', signal.SIGTERM, 'saving',
             [f'--model_dir={model_dir}', f'--export_base={work}/five/exports'])):
        result = subprocess.run([sys.executable, '-c', SIGNALLED, f'tfgan2.cli.{module}', str(int(signum)), moment,
                                 *args], capture_output=True, text=True,
                                preexec_fn=ctrl_c_at_its_default)
        report(title, last_line(result), one_line(result, 'interrupted')
               and os.listdir(f'{work}/five/exports/dcgan') == ['1'])


def class_6(work):
    print('6. Every server answer and every flag value ends in a result or one line')
    from command_sweep import run_sweep
    from exported_models import export_run
    _, path = export_run(f'{work}/six', 'cgan')
    extremes = [['--label=x'], ['--label=-1'], [f'--label={2**31}'], ['--num=1025', '--label=1'],
                [f'--seed={2**63}'], ['--signature=nope', '--label=1'], ['--label=1', f'--out={work}'],
                ['--label=1', f'--out={work}/grid.png']]
    for args, said in zip(extremes, run_sweep('tfgan2.cli.generate', [[f'--saved_model={path}', *a]
                                                                       for a in extremes])):
        report(f'tfgan2-generate {" ".join(args)}', said['line'] or said['stdout'].strip(), said['kind'] != 'bug')
    extremes = [['--max_batch=0'], ['--model_name=../x'], [f'--export_base={work}/six/exports/cgan/1/saved_model.pb'],
                ['--checkpoint=/nowhere/ckpt-1']]
    for args, said in zip(extremes, run_sweep('tfgan2.cli.export', [[f'--model_dir={work}/six/runs/cgan-0', *a]
                                                                     for a in extremes])):
        report(f'tfgan2-export {" ".join(args)}', said['line'], said['kind'] in ('flag', 'error'))
    extremes = [['--num_samples=1'], ['--seed=-1'], ['--image_size=100000'], ['--saved_model=x']]
    for args, said in zip(extremes, run_sweep('tfgan2.cli.evaluate', [[f'--model_dir={work}/six/runs/cgan-0',
                                                                        f'--data={work}/idx', *a] for a in extremes])):
        report(f'tfgan2-evaluate {" ".join(args)}', said['line'], said['kind'] in ('flag', 'error'))
    result = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                             os.path.join(HERE, 'test_client_fuzz.py')], capture_output=True, text=True, cwd=HERE)
    report('serving/client.py against 250 fuzzed server answers (tests/test_client_fuzz.py)',
           result.stdout.strip().splitlines()[-1], result.returncode == 0)


def class_7(work):
    print('7. Flags that make no sense are refused, before anything is written')
    for flag in ('--epochs=-1', '--noise_dim=0', '--dropout=1.5', '--g_learning_rate=inf', '--seed=-1',
                 '--image_size=100000', '--model_dir='):
        model_dir = f'{work}/run7'
        result = command('train', f'--data={work}/idx', f'--model_dir={model_dir}', *TINY, flag)
        line = [line for line in result.stderr.splitlines() if line.startswith(('error:', 'FATAL'))]
        report(f'tfgan2-train {flag}', line[-1] if line else last_line(result),
               result.returncode != 0 and len(line) == 1 and not os.path.exists(model_dir))
    result = train(work, 'ram://runs/seven', '--epochs=1')
    warning = [line for line in result.stderr.splitlines() if 'ram://' in line]
    report('tfgan2-train --model_dir=ram://runs/seven', warning[0] if warning else '(no warning)',
           result.returncode == 0 and bool(warning) and 'outlives' in warning[0])


def class_8(work):
    print('8. A callback that raises never leaves the trainer ahead of its files')
    import keras
    from conftest import synthetic_data, tiny_trainer

    from tfgan2 import artifacts
    data, model_dir = synthetic_data(), f'{work}/run8'
    trainer = tiny_trainer(model_dir, data)
    broken = keras.callbacks.ModelCheckpoint(f'{work}/gan-{{val_loss:.2f}}.keras')  # asks for a figure not logged
    try:
        trainer.fit(data, epochs=3, callbacks=[broken])
        said = 'no error'
    except KeyError as e:
        said = f'KeyError: {str(e)[:120]}'
    report('fit with a misconfigured ModelCheckpoint', said, trainer.epoch == 0)
    trainer.fit(data, epochs=3)
    rows = [row['epoch'] for row in artifacts.read_history(f'{model_dir}/history.csv')]
    grids = sorted(os.listdir(f'{model_dir}/images'))
    report('fit again in the same process', f'history epochs {rows}, {len(grids)} grids', rows == [1, 2, 3]
           and len(grids) == 3)


def busy():
    while True:
        pass


def class_9(work):
    print('9. Tests that wait on events pass on a loaded machine')
    load = [multiprocessing.Process(target=busy, daemon=True) for _ in range(2 * os.cpu_count())]
    for process in load:
        process.start()
    tests = ['test_run.py::test_the_lock_on_an_object_store_names_a_live_holder_and_expires',
             'test_serving.py::test_client_says_when_no_server_answers',
             'test_train.py::test_kill_9_during_checkpointing_never_leaves_an_unreadable_checkpoint',
             'test_signals.py::test_two_signals_in_a_row_while_training_end_in_one_line_and_lose_nothing',
             'test_inception.py::test_missing_imagenet_weights_offline_fail_fast_naming_where_to_put_them']
    try:
        result = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *tests],
                                capture_output=True, text=True, cwd=HERE)
    finally:
        for process in load:
            process.kill()
    report(f'{len(tests)} tests beside {len(load)} processes that keep every core busy',
           result.stdout.strip().splitlines()[-1], result.returncode == 0)


CLASSES = {1: class_1, 2: class_2, 3: class_3, 4: class_4, 5: class_5, 6: class_6, 7: class_7, 8: class_8,
           9: class_9}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--classes', default=','.join(map(str, CLASSES)), help='e.g. 1,3,5')
    parser.add_argument('--keep', action='store_true', help='keep the work folder')
    options = parser.parse_args()
    os.environ['PYTHONPATH'] = os.pathsep.join([os.path.dirname(HERE), os.environ.get('PYTHONPATH', '')])
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    work = tempfile.mkdtemp(prefix='tfgan2-faults-')
    make_idx_dir(f'{work}/idx')
    try:
        for number in map(int, options.classes.split(',')):
            CLASSES[number](work)
    finally:
        if options.keep:
            print(f'work folder: {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f'{sum(RESULTS)} of {len(RESULTS)} cases hold')
    sys.exit(0 if all(RESULTS) else 1)


if __name__ == '__main__':
    main()
