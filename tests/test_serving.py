"""TF Serving's side of the exports, against the loopback test double (tests/serving_double.py):
REST bodies in row and columnar format giving the signatures' answers, the exported graph's
refusals of bad input as REST and gRPC clients meet them, version routing, serving/client.py over both protocols
giving the same grid as tfgan2-generate, and one clear line for every fault either meets
(a server answering nonsense, exports that are not readable, an --out that cannot be written)."""

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import types
import urllib.error
import urllib.request

import grpc
import imageio.v3 as iio
import numpy as np
import pytest
import serving_double
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver
from conftest import PATIENCE_S, serving_client
from exported_models import NUM_CLASSES, export_run
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tfgan2 import artifacts, cli, export, serving


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """cgan versions 1 and 2 (different weights) and dcgan version 1, behind both front ends."""
    root = str(tmp_path_factory.mktemp('serving'))
    paths = {('cgan', 1): export_run(root, 'cgan', seed=0)[1],
             ('cgan', 2): export_run(root, 'cgan', seed=1)[1],
             ('dcgan', 1): export_run(root, 'dcgan', seed=2)[1]}
    base = os.path.join(root, 'exports')
    repository = serving_double.ModelRepository(
        {name: os.path.join(base, name) for name in ('cgan', 'dcgan')})
    with contextlib.ExitStack() as stack:
        stack.callback(repository.close)
        yield types.SimpleNamespace(
            paths=paths, repository=repository,
            grpc=stack.enter_context(serving_double.grpc_server(repository)),
            rest=stack.enter_context(serving_double.rest_server(repository)), root=root,
            loaded={key: tf.saved_model.load(path) for key, path in paths.items()})


def local(served, key, signature, inputs):
    """The signature's answer computed in this process, straight from the SavedModel."""
    function = served.loaded[key].signatures[signature]
    return {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def post(served, model, body, version=None):
    """(HTTP status, JSON answer) of a REST predict call."""
    path = f'/v1/models/{model}' + (f'/versions/{version}' if version else '') + ':predict'
    request = urllib.request.Request(f'http://{served.rest}{path}', json.dumps(body).encode(),
                                     {'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE_S) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def cgan_latent(batch=4):
    rng = np.random.default_rng(0)
    return {'noise': rng.normal(size=[batch, 8]).astype(np.float32),
            'label': (np.arange(batch) * 3 % NUM_CLASSES).astype(np.int32)}


def test_rest_row_and_columnar_bodies_give_the_signature_answer(served):
    latent = cgan_latent()
    expected = local(served, ('cgan', 2), 'serving_default', latent)['images']
    row = {'instances': [{'noise': latent['noise'][i].tolist(), 'label': int(latent['label'][i])}
                         for i in range(4)]}  # no signature_name: serving_default
    status, answer = post(served, 'cgan', row)
    assert status == 200, answer
    np.testing.assert_allclose(np.array(answer['predictions'], np.float32), expected, atol=1e-6)

    columnar = {'signature_name': 'serving_default',
                'inputs': {name: value.tolist() for name, value in latent.items()}}
    status, answer = post(served, 'cgan', columnar)
    assert status == 200, answer
    np.testing.assert_allclose(np.array(answer['outputs'], np.float32), expected, atol=1e-6)

    seeded = {'label': np.array([1, 8], np.int32), 'seed': np.int64(11)}
    status, answer = post(served, 'cgan', {'signature_name': 'from_seed',
                                           'inputs': {'label': [1, 8], 'seed': 11}})
    assert status == 200, answer
    np.testing.assert_allclose(np.array(answer['outputs'], np.float32),
                               local(served, ('cgan', 2), 'from_seed', seeded)['images'], atol=1e-6)

    status, answer = post(served, 'cgan', {'signature_name': 'png_from_seed',
                                           'inputs': {'label': [1, 8], 'seed': 11}})
    assert status == 200, answer
    assert [set(item) for item in answer['outputs']] == [{'b64'}, {'b64'}]  # *_bytes -> base64
    assert [base64.b64decode(item['b64']) for item in answer['outputs']] == list(
        local(served, ('cgan', 2), 'png_from_seed', seeded)['images_png_bytes'])


# The refusals of the exported graph (tfgan2's checks) as a REST client meets them. How the
# server decodes JSON (a float for an int32 input, a missing signature) is TF Serving's, which
# the double only imitates, so it is not tested here.
@pytest.mark.parametrize('body, words', [
    ({'instances': [{'noise': [0.0] * 8, 'label': 10}]}, ['label must hold class indices in [0, 10)']),
    ({'signature_name': 'from_seed', 'inputs': {'label': [-1], 'seed': 0}},
     ['label must hold class indices in [0, 10)']),
    ({'inputs': {'noise': [[0.0] * 8] * 2, 'label': [1, 2, 3]}}, ['label', 'noise', 'same batch size']),
    ({'inputs': {'noise': [[float('nan')] * 8], 'label': [1]}}, ['noise must hold finite numbers']),
    ({'signature_name': 'png_from_seed', 'inputs': {'label': [0] * (export.DEFAULT_MAX_BATCH + 1), 'seed': 0}},
     ['label asks for more than max_batch=1024 images', 'tfgan2-export --max_batch']),
])
def test_rest_refuses_bad_requests_with_clear_errors(served, body, words):
    status, answer = post(served, 'cgan', body)
    assert status == 400
    assert all(word in answer['error'] for word in words), answer['error']


def grpc_predict(served, inputs, signature='serving_default', version=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = 'cgan'
    request.model_spec.signature_name = signature
    if version:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    with grpc.insecure_channel(served.grpc) as channel:
        return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=PATIENCE_S)


def test_grpc_refuses_int64_and_out_of_range_labels_and_nan(served):
    latent = cgan_latent()
    with pytest.raises(grpc.RpcError) as error:
        grpc_predict(served, {**latent, 'label': latent['label'].astype(np.int64)})
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 'to be int32 but int64 is provided' in error.value.details()
    with pytest.raises(grpc.RpcError) as error:
        grpc_predict(served, {**latent, 'label': np.array([0, 1, 2, NUM_CLASSES], np.int32)})
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 'label must hold class indices in [0, 10)' in error.value.details()
    with pytest.raises(grpc.RpcError) as error:
        grpc_predict(served, {**latent, 'noise': np.full_like(latent['noise'], np.nan)})
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 'noise must hold finite numbers, not NaN or inf' in error.value.details()


def test_highest_version_is_served_unless_one_is_asked_for(served):
    latent = cgan_latent()
    response = grpc_predict(served, latent)
    assert response.model_spec.version.value == 2
    np.testing.assert_allclose(tf.make_ndarray(response.outputs['images']),
                               local(served, ('cgan', 2), 'serving_default', latent)['images'], atol=1e-6)
    first = local(served, ('cgan', 1), 'serving_default', latent)['images']
    assert np.abs(first - tf.make_ndarray(response.outputs['images'])).max() > 0.1
    np.testing.assert_allclose(tf.make_ndarray(grpc_predict(served, latent, version=1).outputs['images']),
                               first, atol=1e-6)
    status, answer = post(served, 'cgan', {'inputs': {k: v.tolist() for k, v in latent.items()}}, version=1)
    assert status == 200
    np.testing.assert_allclose(np.array(answer['outputs'], np.float32), first, atol=1e-6)


@pytest.fixture(scope='module')
def client():
    """serving/client.py, imported as a module so its main() runs in this process."""
    return serving_client()


def run_client(client, *args):
    """client.py's main as its command runs it (library errors as one line)."""
    with flagsaver.flagsaver():
        flags.FLAGS(['client.py', *args])
        cli.with_one_line_errors(client.main)(['client.py'])


def local_grid(served, key, signature, labels, num, seed):
    """The grid tfgan2-generate makes, computed here with the library function it calls."""
    images, rows = serving.generate(served.loaded[key].signatures[signature], labels, num, seed)
    return artifacts.image_grid(images * 2.0 - 1.0, rows)


GENERATE_RUNS = """
import json, sys
from absl import flags
from absl.testing import flagsaver
from tfgan2 import export, load_run
from tfgan2.cli import generate, with_one_line_errors
model_dir, ram_base = sys.argv[2:4]
export.export_generator(load_run(model_dir), ram_base, 'cgan')
exits = []
for args in json.loads(sys.argv[1]):
    with flagsaver.flagsaver():
        flags.FLAGS(['tfgan2-generate', *args])
        try:
            with_one_line_errors(generate.main)([])
            exits.append(0)
        except SystemExit as e:
            exits.append(str(e.code))
print(json.dumps(exits))
"""


def run_generate(served, *runs):
    """tfgan2-generate's main once per argument list, all in one fresh process (where cgan version
    1 is also exported to ram://generate-test/exports); returns each run's exit: 0 or its message.
    A subprocess, as importing a CLI here would define its flags in this process for good."""
    result = subprocess.run(
        [sys.executable, '-c', GENERATE_RUNS, json.dumps(runs), os.path.join(served.root, 'runs', 'cgan-0'),
         'ram://generate-test/exports'], capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def copy_export(served, tmp_path, name):
    """A copy of the cgan exports (versions 1 and 2) to break."""
    return shutil.copytree(os.path.join(served.root, 'exports', 'cgan'), tmp_path / name)


def test_generate_cli_writes_the_grid_from_disk_or_ram_and_fails_in_one_line(served, tmp_path):
    no_pb = copy_export(served, tmp_path, 'no-pb')
    os.makedirs(no_pb / '3' / 'variables')  # the highest version has no saved_model.pb
    corrupt = copy_export(served, tmp_path, 'corrupt')
    (corrupt / '2' / 'saved_model.pb').write_bytes(b'\x0bnot a SavedModel\xff')
    a_file = tmp_path / 'a-file'
    a_file.write_text('')
    grid = ['--signature=from_seed', '--label=0,3,7', '--num=4', '--seed=5']
    exits = run_generate(
        served,
        [f'--saved_model={served.root}/exports/cgan', *grid, f'--out={tmp_path / "disk.png"}'],
        ['--saved_model=ram://generate-test/exports/cgan', *grid, f'--out={tmp_path / "ram.png"}'],
        [f'--saved_model={no_pb}', *grid, f'--out={tmp_path / "x.png"}'],
        [f'--saved_model={corrupt}', *grid, f'--out={tmp_path / "x.png"}'],
        [f'--saved_model={served.root}/exports/cgan', *grid, f'--out={a_file}/grid.png'],
        [f'--saved_model={served.root}/exports/cgan', '--label=1', f'--num={export.DEFAULT_MAX_BATCH + 1}',
         f'--out={tmp_path / "x.png"}'],
    )
    assert exits[:2] == [0, 0], exits
    for out, key in (('disk.png', ('cgan', 2)), ('ram.png', ('cgan', 1))):
        image = iio.imread(tmp_path / out)
        np.testing.assert_array_equal(image, local_grid(served, key, 'from_seed', [0, 3, 7], 4, 5)[..., 0])
    images, rows = serving.generate(served.loaded[('cgan', 2)].signatures['from_seed'], [0, 3, 7], 4, 5)
    assert (len(images), rows) == (12, 3)  # one grid row per label, --num images each
    expected = [[f'{no_pb}/3, the highest version under {no_pb}, has no saved_model.pb', 'remove it'],
                [f'{corrupt}/2 is not a readable SavedModel', 'export it again with tfgan2-export'],
                ['Cannot write', f'{a_file}/grid.png'],
                ['the model rejected the request', 'label asks for more than max_batch=1024 images']]
    for message, words in zip(exits[2:], expected):
        assert message.startswith('error: ') and '\n' not in message, message
        assert all(word in message for word in words), message
    assert not os.path.exists(tmp_path / 'x.png') and sorted(os.listdir(tmp_path)) == [
        'a-file', 'corrupt', 'disk.png', 'no-pb', 'ram.png']


@pytest.mark.parametrize('key, protocol, signature, labels, num, seed', [
    (('cgan', 2), ['--protocol=grpc'], 'from_seed', [0, 3, 7], 4, 5),
    (('cgan', 2), ['--protocol=rest'], 'png_from_seed', [0, 3, 7], 4, 5),
    (('cgan', 2), ['--protocol=rest', '--rest_format=row'], 'serving_default', [0, 3, 7], 4, 5),
    (('cgan', 1), ['--protocol=grpc', '--model_version=1'], 'serving_default', [2], 3, 1),
    (('dcgan', 1), ['--protocol=grpc'], 'serving_default', [], 6, 0),
    (('dcgan', 1), ['--protocol=rest'], 'from_seed', [], 6, 2),
])
def test_client_saves_the_same_grid_as_the_saved_model_gives(served, client, tmp_path, key, protocol,
                                                             signature, labels, num, seed):
    server = served.grpc if '--protocol=grpc' in protocol else served.rest
    out = tmp_path / 'client.png'
    label_flag = [f'--label={",".join(map(str, labels))}'] if labels else []
    run_client(client, f'--server={server}', *protocol, f'--model={key[0]}', f'--signature={signature}',
               *label_flag, f'--num={num}', f'--seed={seed}', f'--out={out}')
    expected = local_grid(served, key, signature, labels, num, seed)
    np.testing.assert_array_equal(iio.imread(out), expected[..., 0])


def client_error(client, *args):
    """The one line a client run that must fail exits with."""
    with pytest.raises(SystemExit) as exit_:
        run_client(client, *args)
    message = str(exit_.value.code)
    assert message.startswith('error: ') and '\n' not in message, message
    return message


@pytest.mark.parametrize('args, words', [
    (['--protocol=grpc', '--label=0,10'], ['label must hold class indices in [0, 10)']),
    (['--protocol=rest', '--label=11'], ['label must hold class indices in [0, 10)']),
    (['--protocol=rest', '--rest_format=row', '--label=1'], ['row format', 'seed', '--rest_format=columnar']),
    (['--protocol=grpc'], ['pass the classes to draw']),
    (['--protocol=grpc', '--label=1', '--signature=nope'], ["no signature 'nope'", 'from_seed']),
    (['--protocol=grpc', '--label=1', '--model=nope'], ['NOT_FOUND', 'nope']),
    (['--protocol=grpc', '--label=1', '--server=localhost:abc'], ['--server=localhost:abc is not host:port']),
    (['--protocol=rest', '--label=1', '--server=localhost'], ['--server=localhost is not host:port']),
])
def test_client_errors_end_in_one_clear_line(served, client, tmp_path, args, words):
    server = served.grpc if '--protocol=grpc' in args else served.rest
    message = client_error(client, f'--server={server}', '--model=cgan', f'--out={tmp_path / "x.png"}', *args)
    assert all(word in message for word in words), message
    assert not os.path.exists(tmp_path / 'x.png')


def test_client_says_when_out_cannot_be_written(served, client, tmp_path):
    a_file = tmp_path / 'a-file'
    a_file.write_text('')
    message = client_error(client, f'--server={served.grpc}', '--model=cgan', '--label=1',
                           f'--out={a_file}/grid.png')
    assert 'Cannot write' in message and f'{a_file}/grid.png' in message
    assert os.listdir(tmp_path) == ['a-file']


def predict_only(rewrite):
    """A REST tamper that rewrites predict answers and leaves metadata alone."""
    return lambda path, body: rewrite(body) if path.endswith(':predict') else body


def fewer_grpc_images(response):
    images = tf.make_ndarray(response.outputs['images'])
    response.outputs['images'].CopyFrom(tf.make_tensor_proto(images[:1]))
    return response


@pytest.mark.parametrize('protocol, tamper, words', [
    ('rest', lambda path, body: {}, ['answered without "metadata"', '--rest_api_port']),
    ('rest', predict_only(lambda body: {}), ['answered without "outputs"', '--rest_api_port']),
    ('rest', lambda path, body: b'<html>Welcome</html>', ["answered b'<html>Welcome</html>'", 'not JSON']),
    ('rest', predict_only(lambda body: {'outputs': body['outputs'][:1]}),
     ['Asked for 4 images, the model answered with 1']),
    ('grpc', fewer_grpc_images, ['Asked for 4 images, the model answered with 1']),
])
def test_client_says_when_a_server_answers_what_no_model_server_would(served, client, tmp_path, protocol,
                                                                     tamper, words):
    front_end = serving_double.rest_server if protocol == 'rest' else serving_double.grpc_server
    with front_end(served.repository, tamper) as server:
        message = client_error(client, f'--server={server}', f'--protocol={protocol}', '--model=cgan',
                               '--label=1,2', '--num=2', f'--out={tmp_path / "x.png"}')
    assert all(word in message for word in words), message
    assert not os.path.exists(tmp_path / 'x.png')


@pytest.mark.parametrize('protocol', ['grpc', 'rest'])
def test_client_says_when_no_server_answers(client, tmp_path, protocol):
    with socket_without_server() as address, pytest.raises(SystemExit) as exit_:
        run_client(client, f'--server={address}', f'--protocol={protocol}', '--timeout=600',
                   f'--out={tmp_path / "x.png"}')
    assert 'Cannot reach' in str(exit_.value.code) and 'serving/README.md' in str(exit_.value.code)


@contextlib.contextmanager
def socket_without_server():
    """A loopback address nothing listens on: a port bound here and held without listening, so
    no other process can take it meanwhile and connecting to it is refused at once."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        yield f'127.0.0.1:{s.getsockname()[1]}'

