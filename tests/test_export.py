"""SavedModel export held to TF Serving's contract: signatures read back from disk (and by
saved_model_cli), run in a TF1 session by tensor names as the C++ server does, reloaded in a
process without tfgan2, validated in the graph, and published atomically as numbered versions.
Every model in tfgan2.models.MODELS is covered."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import PATIENCE_S, TINY_WIDTHS
from exported_models import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    build_tiny,
    export_run,
    keras_images,
    latent_batch,
    randomize_generator,
)
from google.protobuf import text_format
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.config import model_server_config_pb2

from tfgan2 import errors, export, load_run, models

PREDICT_METHOD = 'tensorflow/serving/predict'


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
    """{model: (model_dir, export path)} for every registered model."""
    root = str(tmp_path_factory.mktemp('export'))
    return {name: export_run(root, name) for name in sorted(models.MODELS)}


@pytest.fixture(scope='module', params=sorted(models.MODELS))
def exported(request, exports):
    """(model name, run dir, export path, the GAN rebuilt from the run's checkpoint)."""
    model_dir, path = exports[request.param]
    return request.param, model_dir, path, load_run(model_dir)


def read_signatures(path):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, 'saved_model.pb'), 'rb') as f:
        saved_model.ParseFromString(f.read())
    (meta_graph,) = saved_model.meta_graphs
    assert list(meta_graph.meta_info_def.tags) == ['serve']
    return meta_graph.signature_def


def contract(tensor_infos):
    """{alias: (dtype name, shape)} of a SignatureDef's inputs or outputs."""
    return {alias: (tf.dtypes.as_dtype(info.dtype).name, [d.size for d in info.tensor_shape.dim])
            for alias, info in tensor_infos.items()}


def expected_contract(gan):
    """What each signature must take and give, written out from the issue's contract."""
    latent = {'noise': ('float32', [-1, TINY_WIDTHS['noise_dim']])}
    if gan.conditional:
        latent['label'] = ('int32', [-1])
    if 'code' in gan.latent_spec():
        latent['code'] = ('float32', [-1, 2])
    seeded = {'seed': ('int64', []), **({'label': ('int32', [-1])} if gan.conditional
                                        else {'num_images': ('int32', [])})}
    images = {'images': ('float32', [-1, *IMAGE_SHAPE])}
    return {'serving_default': (latent, images), 'from_seed': (seeded, images),
            'png_from_seed': (seeded, {'images_png_bytes': ('string', [-1])})}


def test_signature_contract_read_back_from_disk(exported):
    _, _, path, gan = exported
    signatures = read_signatures(path)
    assert set(signatures) - {'__saved_model_init_op'} == set(export.SIGNATURES)
    for key, (inputs, outputs) in expected_contract(gan).items():
        assert signatures[key].method_name == PREDICT_METHOD
        assert contract(signatures[key].inputs) == inputs, key
        assert contract(signatures[key].outputs) == outputs, key


def test_saved_model_cli_shows_the_same_signatures(exports):
    cli = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')
    runs = {name: subprocess.Popen([cli, 'show', '--dir', path, '--all'], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
            for name, (_, path) in exports.items()}
    for name, process in runs.items():
        shown, _ = process.communicate(timeout=PATIENCE_S)
        assert process.returncode == 0
        signatures = read_signatures(exports[name][1])
        for key in export.SIGNATURES:
            block = re.search(rf"signature_def\['{key}'\]:\n(.*?)Method name is: (\S+)", shown, re.S)
            assert block and block[2] == PREDICT_METHOD, (name, key)
            listed = re.findall(r"(?:inputs|outputs)\['(\w+)'\] tensor_info:\n\s+dtype: (\w+)\n"
                                r"\s+shape: (.*)\n", block[1])
            shown_contract = {alias: (dtype, [int(size) for size in re.findall(r'-?\d+', shape)])
                              for alias, dtype, shape in listed}
            on_disk = {alias: (types_pb2.DataType.Name(info.dtype), [d.size for d in info.tensor_shape.dim])
                       for alias, info in {**signatures[key].inputs, **signatures[key].outputs}.items()}
            assert shown_contract == on_disk, (name, key)


def tf1_session(path):
    """(session, signature defs) of the SavedModel at `path` loaded into a TF1 graph and session,
    the way tensorflow_model_server loads it."""
    graph = tf.Graph()
    sess = tf.compat.v1.Session(graph=graph)
    with graph.as_default():  # Only while loading: the tests around it run eagerly.
        meta_graph = tf.compat.v1.saved_model.loader.load(sess, ['serve'], path)
    return sess, meta_graph.signature_def


@pytest.fixture(scope='module')
def session(exported):
    sess, signature_defs = tf1_session(exported[2])
    yield sess, signature_defs
    sess.close()


def run_signature(session, key, inputs, output):
    """Runs signature `key` by tensor names (feeds and fetch), as the C++ server does."""
    sess, signatures = session
    signature = signatures[key]
    return sess.run(signature.outputs[output].name,
                    {signature.inputs[alias].name: value for alias, value in inputs.items()})


def test_tf1_session_equals_the_generator_in_the_checkpoint(exported, session):
    _, _, _, gan = exported
    latent = latent_batch(gan, 12)
    served = run_signature(session, 'serving_default', latent, 'images')
    assert served.shape == (12, *IMAGE_SHAPE) and served.dtype == np.float32
    np.testing.assert_allclose(served, keras_images(gan, latent), atol=1e-5)
    assert served.min() >= 0 and served.max() <= 1 and served.std() > 0.1  # far from flat gray


def seeded_inputs(gan, seed, count=6, label_shift=0):
    count_input = ({'label': ((np.arange(count) + label_shift) % NUM_CLASSES).astype(np.int32)}
                   if gan.conditional else {'num_images': np.int32(count)})
    return {**count_input, 'seed': np.int64(seed)}


def test_seeded_signatures_repeat_per_seed_and_png_matches_images(exported, session):
    _, _, _, gan = exported
    images = run_signature(session, 'from_seed', seeded_inputs(gan, 7), 'images')
    assert images.shape == (6, *IMAGE_SHAPE)
    np.testing.assert_array_equal(run_signature(session, 'from_seed', seeded_inputs(gan, 7), 'images'),
                                  images)
    assert np.abs(run_signature(session, 'from_seed', seeded_inputs(gan, 8), 'images') - images).max() > 0.1
    if gan.conditional:  # The label reaches the generator: same seed, other labels, other images.
        relabelled = run_signature(session, 'from_seed', seeded_inputs(gan, 7, label_shift=1), 'images')
        assert np.abs(relabelled - images).max() > 0.1
    pngs = run_signature(session, 'png_from_seed', seeded_inputs(gan, 7), 'images_png_bytes')
    decoded = np.stack([tf.io.decode_png(png).numpy() for png in pngs])
    np.testing.assert_array_equal(decoded, np.round(images * 255).astype(np.uint8))


def bad_requests(gan):
    """(signature, inputs, words the error must contain) that the graph must refuse."""
    too_many = export.DEFAULT_MAX_BATCH + 1
    cap = [f'max_batch={export.DEFAULT_MAX_BATCH}', 'tfgan2-export --max_batch']
    latent = latent_batch(gan, 4)
    nan_noise = latent['noise'].copy()
    nan_noise[2, 1] = np.nan
    requests = [
        ('serving_default', {**latent, 'noise': nan_noise}, ['noise', 'finite', 'NaN']),
        ('serving_default', latent_batch(gan, too_many), ['noise', *cap]),
    ]
    if 'code' in latent:
        requests.append(('serving_default', {**latent, 'code': np.full_like(latent['code'], np.inf)},
                         ['code', 'finite']))
    if not gan.conditional:
        return requests + [
            ('from_seed', {'num_images': np.int32(-1), 'seed': np.int64(0)}, ['num_images', '>= 0']),
            ('from_seed', {'num_images': np.int32(too_many), 'seed': np.int64(0)}, ['num_images', *cap]),
            ('png_from_seed', {'num_images': np.int32(too_many), 'seed': np.int64(0)}, ['num_images', *cap]),
        ]
    label_range = ['label', f'[0, {NUM_CLASSES})']
    many_labels = np.zeros(too_many, np.int32)
    return requests + [
        ('serving_default', {**latent, 'label': np.array([0, 1, NUM_CLASSES, 2], np.int32)}, label_range),
        ('serving_default', {**latent, 'label': np.array([0, -1, 1, 2], np.int32)}, label_range),
        ('from_seed', {'label': np.array([3, 99], np.int32), 'seed': np.int64(0)}, label_range),
        ('png_from_seed', {'label': np.array([-5], np.int32), 'seed': np.int64(0)}, label_range),
        ('serving_default', {**latent, 'label': latent['label'][:3]}, ['label', 'noise', 'same batch size']),
        ('from_seed', {'label': many_labels, 'seed': np.int64(0)}, ['label', *cap]),
        ('png_from_seed', {'label': many_labels, 'seed': np.int64(0)}, ['label', *cap]),
    ]


def test_graph_rejects_bad_input_naming_it(exported, session):
    """Labels out of range, mismatched batches, NaN/inf and more images than max_batch, in every
    signature, as INVALID_ARGUMENT naming the input (and the cap and how to raise it)."""
    _, _, _, gan = exported
    for key, inputs, words in bad_requests(gan):
        output = 'images_png_bytes' if key == 'png_from_seed' else 'images'
        with pytest.raises(tf.errors.InvalidArgumentError) as error:
            run_signature(session, key, inputs, output)
        assert all(word in error.value.message for word in words), (key, error.value.message)


@pytest.fixture(scope='module')
def capped_sessions(tmp_path_factory):
    """{model: TF1 session} of dcgan and cgan exports with max_batch=4."""
    base = str(tmp_path_factory.mktemp('capped'))
    sessions = {model: tf1_session(export.export_generator(
        build_tiny(model), base, model, max_batch=4))
        for model in ('dcgan', 'cgan')}
    yield sessions
    for sess, _ in sessions.values():
        sess.close()


def capped_requests(model, count):
    """{signature: inputs} asking every signature of `model` (dcgan or cgan) for `count` images."""
    if model == 'dcgan':
        labels, seeded = {}, {'num_images': np.int32(count), 'seed': np.int64(0)}
    else:
        labels = {'label': np.arange(count, dtype=np.int32) % NUM_CLASSES}
        seeded = {**labels, 'seed': np.int64(0)}
    requests = {'from_seed': seeded, 'png_from_seed': seeded}
    if count <= 100_000:  # serving_default's noise is sent, so a huge request is huge already.
        noise = np.zeros([count, TINY_WIDTHS['noise_dim']], np.float32)
        requests['serving_default'] = {**labels, 'noise': noise}
    return requests


@pytest.mark.parametrize('model', ['dcgan', 'cgan'])
def test_max_batch_caps_every_signature_before_allocating(capped_sessions, model):
    session = capped_sessions[model]
    for key, inputs in capped_requests(model, 4).items():
        output = 'images_png_bytes' if key == 'png_from_seed' else 'images'
        assert len(run_signature(session, key, inputs, output)) == 4
    # 2**31 - 1 images would need 64 GB of noise: only a check made before allocating answers
    # INVALID_ARGUMENT (allocating first fails with RESOURCE_EXHAUSTED, or not at all).
    for count in (5, 100_000, *([2 ** 31 - 1] if model == 'dcgan' else [])):
        for key, inputs in capped_requests(model, count).items():
            output = 'images_png_bytes' if key == 'png_from_seed' else 'images'
            with pytest.raises(tf.errors.InvalidArgumentError, match='max_batch=4'):
                run_signature(session, key, inputs, output)


def test_max_batch_must_be_a_positive_integer(tmp_path):
    for bad in (0, -3, 2.5, None):
        with pytest.raises(ValueError, match=f'max_batch={bad!r} is not a positive integer'):
            export.export_generator(tiny_dcgan(), str(tmp_path), 'dcgan', max_batch=bad)
    assert not os.path.exists(tmp_path / 'dcgan')  # refused before anything is written


def test_fresh_process_without_tfgan2_reloads_every_export(exports, tmp_path):
    """TensorFlow alone, without tfgan2's model classes, loads the SavedModels and gives the same images."""
    cases = {}
    for name, (model_dir, path) in exports.items():
        gan = load_run(model_dir)
        latent = latent_batch(gan, 5, seed=3)
        np.savez(tmp_path / f'{name}.npz', **latent)
        cases[name] = (path, keras_images(gan, latent))
    script = (
        'import json, sys, numpy as np, tensorflow as tf\n'
        'for name, path in json.loads(sys.argv[1]).items():\n'
        '    latent = dict(np.load(f"{sys.argv[2]}/{name}.npz"))\n'
        '    signature = tf.saved_model.load(path).signatures["serving_default"]\n'
        '    images = signature(**{k: tf.constant(v) for k, v in latent.items()})["images"]\n'
        '    np.save(f"{sys.argv[2]}/{name}.out.npy", images.numpy())\n'
        'assert not [m for m in sys.modules if m.startswith("tfgan2")], "tfgan2 was imported"\n')
    result = subprocess.run(
        [sys.executable, '-c', script, json.dumps({n: p for n, (p, _) in cases.items()}), str(tmp_path)],
        capture_output=True, text=True, timeout=PATIENCE_S, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for name, (_, expected) in cases.items():
        np.testing.assert_allclose(np.load(tmp_path / f'{name}.out.npy'), expected, atol=1e-5)


def tiny_dcgan(seed=0):
    gan = build_tiny('dcgan')
    randomize_generator(gan, seed)
    return gan


def served_images(path):
    signature = tf.saved_model.load(path).signatures['from_seed']
    return signature(num_images=tf.constant(2), seed=tf.constant(1, tf.int64))['images'].numpy()


def test_versions_count_up_and_existing_ones_are_kept_unless_overwritten(tmp_path):
    base = str(tmp_path)
    gan = tiny_dcgan(seed=0)
    assert export.export_generator(gan, base, 'dcgan') == os.path.join(base, 'dcgan', '1')
    assert export.export_generator(gan, base, 'dcgan') == os.path.join(base, 'dcgan', '2')
    before = served_images(os.path.join(base, 'dcgan', '2'))
    retrained = tiny_dcgan(seed=1)
    with pytest.raises(ValueError, match='already exists.*overwrite=True'):
        export.export_generator(retrained, base, 'dcgan', version=2)
    np.testing.assert_array_equal(served_images(os.path.join(base, 'dcgan', '2')), before)
    export.export_generator(retrained, base, 'dcgan', version=2, overwrite=True)
    assert np.abs(served_images(os.path.join(base, 'dcgan', '2')) - before).max() > 0.1
    assert export.export_generator(gan, base, 'dcgan', version=7).endswith(os.path.join('dcgan', '7'))
    assert export.versions(os.path.join(base, 'dcgan')) == [1, 2, 7]
    assert sorted(os.listdir(os.path.join(base, 'dcgan'))) == ['1', '2', '7']  # no leftovers
    with pytest.raises(ValueError, match='positive integer'):
        export.export_generator(gan, base, 'dcgan', version=0)
    for name in ('../escape', 'models.config'):
        with pytest.raises(ValueError, match='not usable as a TF Serving model name'):
            export.export_generator(gan, base, name)


def read_server_config(path):
    with tf.io.gfile.GFile(path) as f:
        return text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())


def config_entries(path):
    return [(entry.name, entry.base_path, entry.model_platform)
            for entry in read_server_config(path).model_config_list.config]


def test_models_config_lists_exactly_the_exported_models(tmp_path):
    """TF Serving opens its ports only once every model of its config has a version, so the
    config written beside the exports names those models and no other."""
    base, config = str(tmp_path), str(tmp_path / 'models.config')
    os.makedirs(tmp_path / 'acgan' / '.tmp-1-crashed')  # an export that never finished: no version
    export.export_generator(tiny_dcgan(), base, 'dcgan')
    assert config_entries(config) == [('dcgan', '/models/dcgan', 'tensorflow')]
    export.export_generator(tiny_dcgan(), base, 'cgan-like', server_base=base)
    assert config_entries(config) == [('cgan-like', f'{base}/cgan-like', 'tensorflow'),
                                      ('dcgan', f'{base}/dcgan', 'tensorflow')]
    assert sorted(os.listdir(tmp_path)) == ['acgan', 'cgan-like', 'dcgan', 'models.config']


def watch_version(monkeypatch, target):
    """A list that gets, after each step that moves or deletes a folder, whether `target` then
    holds a complete SavedModel."""
    seen = []

    def watched(function):
        def step(*args, **kwargs):
            result = function(*args, **kwargs)
            seen.append(os.path.exists(os.path.join(target, 'saved_model.pb')))
            return result
        return step

    for name in ('rename', 'rmtree'):
        monkeypatch.setattr(tf.io.gfile, name, watched(getattr(tf.io.gfile, name)))
    monkeypatch.setattr(export, '_exchange', watched(export._exchange))
    return seen


def without_exchange(monkeypatch):
    """Makes the export overwrite as it does where renameat2(RENAME_EXCHANGE) is missing."""
    monkeypatch.setattr(export, '_exchange', lambda first, second: False)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='renameat2 is Linux only')
def test_overwrite_never_leaves_the_version_missing(tmp_path, monkeypatch):
    base, target = str(tmp_path), str(tmp_path / 'dcgan' / '1')
    export.export_generator(tiny_dcgan(seed=0), base, 'dcgan')
    before = served_images(target)
    seen = watch_version(monkeypatch, target)
    export.export_generator(tiny_dcgan(seed=1), base, 'dcgan', version=1, overwrite=True)
    assert seen and all(seen), seen
    assert np.abs(served_images(target) - before).max() > 0.1
    assert sorted(os.listdir(tmp_path / 'dcgan')) == ['1']


def test_overwrite_without_exchange_puts_the_old_version_back_when_cut_short(tmp_path, monkeypatch):
    without_exchange(monkeypatch)
    base, target = str(tmp_path), str(tmp_path / 'dcgan' / '1')
    export.export_generator(tiny_dcgan(seed=0), base, 'dcgan')
    seen = watch_version(monkeypatch, target)
    export.export_generator(tiny_dcgan(seed=1), base, 'dcgan', version=1, overwrite=True)
    assert seen.count(False) == 1, seen  # the gap between moving the old one aside and the new in
    before = served_images(target)

    real_rename = tf.io.gfile.rename

    def rename_failing_into_place(source, destination, overwrite=False):
        if os.path.basename(source).startswith('.tmp-'):  # the new version's move into place
            raise tf.errors.UnavailableError(None, None, 'the disk went away')
        real_rename(source, destination, overwrite)

    monkeypatch.setattr(tf.io.gfile, 'rename', rename_failing_into_place)
    with pytest.raises(ValueError, match='Could not publish .*the disk went away'):
        export.export_generator(tiny_dcgan(seed=2), base, 'dcgan', version=1, overwrite=True)
    np.testing.assert_array_equal(served_images(target), before)
    assert sorted(os.listdir(tmp_path / 'dcgan')) == ['1']


def test_failed_export_leaves_no_version_and_no_temporary_folder(tmp_path, monkeypatch):
    real_save = tf.saved_model.save

    def save_then_fail(obj, path, signatures):
        real_save(obj, path, signatures=signatures)  # a complete SavedModel...
        raise OSError('disk full')  # ...but the export did not finish

    monkeypatch.setattr(tf.saved_model, 'save', save_then_fail)
    with pytest.raises(errors.ExportError, match=rf'^Cannot write {tmp_path}/dcgan/1 \(disk full\); free space'):
        export.export_generator(tiny_dcgan(), str(tmp_path), 'dcgan')
    assert os.listdir(tmp_path / 'dcgan') == []
    assert not os.path.exists(tmp_path / 'models.config')


KILLED_EXPORT = """
import os, sys, tensorflow as tf
sys.path.insert(0, sys.argv[2])
from exported_models import IMAGE_SHAPE, NUM_CLASSES
from conftest import TINY_WIDTHS
from tfgan2 import build_gan, export
{inject}
gan = build_gan("dcgan", image_shape=IMAGE_SHAPE, num_classes=NUM_CLASSES, **TINY_WIDTHS)
export.export_generator(gan, sys.argv[1], "dcgan", {arguments})
"""


def export_killed(base, inject, arguments=''):
    """Runs an export in a process that `inject` kills (os._exit(9): no cleanup runs)."""
    script = KILLED_EXPORT.format(inject=inject, arguments=arguments)
    result = subprocess.run([sys.executable, '-c', script, str(base), os.path.dirname(__file__)],
                            capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 9, result.stderr[-3000:]


def test_export_killed_midway_leaves_no_numbered_folder(tmp_path):
    """A hard crash leaves only a hidden, non-numeric folder, which TF Serving ignores; the next
    export still gets version 1."""
    export_killed(tmp_path, inject=(
        'real_save = tf.saved_model.save\n'
        'def save_then_die(obj, path, signatures):\n'
        '    real_save(obj, path, signatures=signatures)\n'
        '    os._exit(9)\n'
        'tf.saved_model.save = save_then_die'))
    leftovers = os.listdir(tmp_path / 'dcgan')
    assert len(leftovers) == 1 and leftovers[0].startswith('.tmp-1-')
    assert os.path.exists(tmp_path / 'dcgan' / leftovers[0] / 'saved_model.pb')  # it died after saving
    assert export.versions(str(tmp_path / 'dcgan')) == []
    assert export.export_generator(tiny_dcgan(), str(tmp_path), 'dcgan').endswith(os.path.join('dcgan', '1'))


def test_overwrite_killed_between_its_moves_is_undone_by_the_next_export(tmp_path):
    base = str(tmp_path)
    export.export_generator(tiny_dcgan(seed=0), base, 'dcgan')
    before = served_images(str(tmp_path / 'dcgan' / '1'))
    export_killed(tmp_path, arguments='version=1, overwrite=True', inject=(
        'export._exchange = lambda first, second: False\n'
        'real_rename = tf.io.gfile.rename\n'
        'def rename_then_die(source, destination, overwrite=False):\n'
        '    real_rename(source, destination, overwrite)\n'
        '    if os.path.basename(destination).startswith(".old-"):\n'
        '        os._exit(9)\n'
        'tf.io.gfile.rename = rename_then_die'))
    assert export.versions(str(tmp_path / 'dcgan')) == []  # the documented window, where it died
    assert export.export_generator(tiny_dcgan(seed=1), base, 'dcgan').endswith(os.path.join('dcgan', '2'))
    np.testing.assert_array_equal(served_images(str(tmp_path / 'dcgan' / '1')), before)
    assert sorted(name for name in os.listdir(tmp_path / 'dcgan') if not name.startswith('.tmp-')) == [
        '1', '2']


def test_export_base_that_is_a_file_or_read_only_is_refused_in_one_line(tmp_path, monkeypatch):
    a_file = tmp_path / 'exports'
    a_file.write_text('not a folder')
    with pytest.raises(ValueError, match=r'export_base=.*exports is a file; pass a folder'):
        export.export_generator(tiny_dcgan(), str(a_file), 'dcgan')
    assert a_file.read_text() == 'not a folder'

    def read_only(path):  # Permission bits do not stop root, so the filesystem's answer is injected.
        raise tf.errors.PermissionDeniedError(None, None, f'{path}; Read-only file system')

    monkeypatch.setattr(tf.io.gfile, 'makedirs', read_only)
    with pytest.raises(ValueError) as error:
        export.export_generator(tiny_dcgan(), str(tmp_path / 'read-only'), 'dcgan')
    assert 'Read-only file system' in str(error.value) and 'export_base you can write to' in str(error.value)
    assert '\n' not in str(error.value)


def test_ram_filesystem_holds_versions_overwrites_and_the_config(tmp_path):
    """ram:// stands in for gs://: no folder renames, so versions are copied into place."""
    base = f'ram://export-test-{os.getpid()}/exports'
    assert export.export_generator(tiny_dcgan(seed=0), base, 'dcgan') == f'{base}/dcgan/1'
    export.export_generator(tiny_dcgan(seed=1), base, 'dcgan')
    before = served_images(f'{base}/dcgan/2')
    export.export_generator(tiny_dcgan(seed=2), base, 'dcgan', version=2, overwrite=True)
    assert np.abs(served_images(f'{base}/dcgan/2') - before).max() > 0.1
    assert export.versions(f'{base}/dcgan') == [1, 2]
    assert sorted(tf.io.gfile.listdir(f'{base}/dcgan')) == ['1', '2']
    assert export.resolve_saved_model(f'{base}/dcgan') == f'{base}/dcgan/2'
    assert config_entries(f'{base}/models.config') == [('dcgan', '/models/dcgan', 'tensorflow')]
    assert sorted(tf.io.gfile.listdir(base)) == ['dcgan', 'models.config']


def test_loading_a_missing_or_corrupt_saved_model_is_one_clear_error(tmp_path):
    base = str(tmp_path)
    export.export_generator(tiny_dcgan(), base, 'dcgan')
    os.makedirs(tmp_path / 'dcgan' / '2' / 'variables')  # a version folder without saved_model.pb
    with pytest.raises(ValueError, match=r'dcgan/2, the highest version under .* has no saved_model.pb.*'
                                         r'remove it, or point at one of versions 1'):
        export.load_saved_model(os.path.join(base, 'dcgan'))
    (tmp_path / 'dcgan' / '1' / 'saved_model.pb').write_bytes(b'\x0bnot a SavedModel\xff')
    with pytest.raises(ValueError, match=r'dcgan/1 is not a readable SavedModel .*export it again'):
        export.load_saved_model(os.path.join(base, 'dcgan', '1'))


def run_cli(module, *args):
    return subprocess.run([sys.executable, '-m', f'tfgan2.cli.{module}', *args], capture_output=True,
                          text=True, timeout=PATIENCE_S)


def test_train_export_dir_and_export_cli_write_the_trained_generator(tmp_path, idx_dir):
    model_dir, exports_dir = tmp_path / 'run', tmp_path / 'exports'
    tiny = ['--noise_dim=8', '--generator_widths=16,8', '--discriminator_widths=8,16']
    trained = run_cli('train', '--model=cgan', f'--data={idx_dir}', f'--model_dir={model_dir}',
                      '--epochs=1', '--steps_per_epoch=2', '--batch_size=16', *tiny,
                      f'--export_dir={exports_dir}')
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert f'Exported the generator to {exports_dir / "cgan" / "1"}' in trained.stdout
    exported = run_cli('export', f'--model_dir={model_dir}', f'--export_base={exports_dir}',
                       '--model_name=cgan')
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert export.versions(str(exports_dir / 'cgan')) == [1, 2]
    assert f'models.config in {exports_dir} now lists: cgan' in exported.stdout
    assert config_entries(str(exports_dir / 'models.config')) == [('cgan', '/models/cgan', 'tensorflow')]
    a_file = tmp_path / 'a-file'
    a_file.write_text('')
    refused = run_cli('export', f'--model_dir={model_dir}', f'--export_base={a_file}')
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (f'error: --export_base={a_file} is a file; pass a '
                                                       f'folder (it is created if missing).')

    gan = load_run(model_dir)  # the generator in the trained checkpoint
    latent = latent_batch(gan, 4)
    expected = keras_images(gan, latent)
    for version in ('1', '2'):
        signatures = tf.saved_model.load(str(exports_dir / 'cgan' / version)).signatures
        images = signatures['serving_default'](**{k: tf.constant(v) for k, v in latent.items()})['images']
        np.testing.assert_allclose(images.numpy(), expected, atol=1e-5)
    too_many = tf.zeros([export.DEFAULT_MAX_BATCH + 1], tf.int32)  # the CLI's default cap is the library's
    with pytest.raises(tf.errors.InvalidArgumentError, match=f'max_batch={export.DEFAULT_MAX_BATCH}'):
        signatures['from_seed'](label=too_many, seed=tf.constant(0, tf.int64))
