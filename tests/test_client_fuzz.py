"""serving/client.py against every answer a server can give (issue 23, class 6): a fuzzer drives
the client against fake model servers on 127.0.0.1 that answer what they are told, mutations of
a tfgan2 export's true answers (malformed or deeply nested JSON, wrong types, bytes that are not
PNG, NaN pixels, HTTP and gRPC errors, connections cut short). Every answer ends in a grid or in
one `error:` line, never a traceback. The cases are drawn from a fixed seed, so a failure
reruns as it was; their count is fixed, and no case waits on the clock except one answer that
never comes, which the client's --timeout ends."""

import base64
import concurrent.futures
import contextlib
import http.server
import io
import json
import random
import threading

import grpc
import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver
from conftest import PATIENCE_S, serving_client
from google.protobuf import json_format
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from tfgan2 import cli

SEED = 23
REST_CASES, GRPC_CASES = 160, 90
LABELS, NUM = (1, 2), 2
COUNT = len(LABELS) * NUM
SIGNATURES = ('from_seed', 'png_from_seed', 'serving_default')


# ---- What a tfgan2 cgan export (28x28x1, 10 classes, noise 8) truly answers ----

def tensor_info(dtype, dims):
    info = meta_graph_pb2.TensorInfo(name='t:0', dtype=dtype)
    for size in dims:
        info.tensor_shape.dim.add(size=size)
    return info


def signature_def_map():
    seeded = {'label': tensor_info(types_pb2.DT_INT32, [-1]), 'seed': tensor_info(types_pb2.DT_INT64, [])}
    images = {'images': tensor_info(types_pb2.DT_FLOAT, [-1, 28, 28, 1])}
    signatures = {
        'from_seed': (seeded, images),
        'png_from_seed': (seeded, {'images_png_bytes': tensor_info(types_pb2.DT_STRING, [-1])}),
        'serving_default': ({'noise': tensor_info(types_pb2.DT_FLOAT, [-1, 8]),
                             'label': tensor_info(types_pb2.DT_INT32, [-1])}, images)}
    result = get_model_metadata_pb2.SignatureDefMap()
    for name, (inputs, outputs) in signatures.items():
        signature = result.signature_def[name]
        signature.method_name = 'tensorflow/serving/predict'
        for key, info in inputs.items():
            signature.inputs[key].CopyFrom(info)
        for key, info in outputs.items():
            signature.outputs[key].CopyFrom(info)
    return result


def true_images(rng, count=COUNT, size=28):
    return np.asarray([[[[rng.random()] for _ in range(size)] for _ in range(size)] for _ in range(count)],
                      np.float32)


def png(image):
    return iio.imwrite('<bytes>', np.round(image[..., 0] * 255).astype(np.uint8), extension='.png')


def png_with_header_size(width, height):
    """A PNG whose header claims width x height (its data is a 1x1 image's)."""
    data = bytearray(png(np.zeros((1, 1, 1), np.float32)))
    data[16:24] = width.to_bytes(4, 'big') + height.to_bytes(4, 'big')
    return bytes(data)


# ---- Random JSON and mutations of true answers ----

def random_text(rng):
    return rng.choice(['', 'b64', 'images', 'outputs', 'NaN', '\u00e9\u4e2d\U0001f600', '\x00\n',
                       'x' * rng.randrange(1, 2000), str(rng.random())])


def random_json(rng, depth=0):
    kinds = 7 if depth < 4 else 5
    kind = rng.randrange(kinds)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 7, 2**31, 2**63, 10**30, -(10**30)])
    if kind == 3:
        return rng.choice([float('nan'), float('inf'), -float('inf'), -1e308, 0.5, 5e-324])
    if kind == 4:
        return random_text(rng)
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {random_text(rng)[:20]: random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON value, the value itself first."""
    found = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found += paths(item, (*prefix, key))
    return found


def replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def deleted(value, path):
    if len(path) == 1:
        copy = dict(value) if isinstance(value, dict) else list(value)
        del copy[path[0]]
        return copy
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = deleted(value[path[0]], path[1:])
    return copy


def nested(rng):
    depth = rng.choice([100, 3000, 200_000])
    return rng.choice([('[' * depth + ']' * depth), ('{"a":' * depth + '1' + '}' * depth),
                       ('[' * depth)]).encode()


class Answer:
    """What the fake server does with one request: `status` and `body`, or a transport fault
    (`mode`: 'close' without answering, 'truncate' the body it announced, 'silent' forever)."""

    def __init__(self, body=b'', status=200, mode='answer'):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.status, self.mode = status, mode

    def __repr__(self):
        return f'Answer({self.status}, {self.mode}, {self.body[:120]!r}{"..." if len(self.body) > 120 else ""})'


def rest_truth(rng, signature, row):
    metadata = {'model_spec': {'name': 'cgan', 'version': '1', 'signature_name': ''},
                'metadata': {'signature_def': json_format.MessageToDict(signature_def_map(),
                                                                        preserving_proto_field_name=True)}}
    images = true_images(rng)
    if signature == 'png_from_seed':
        values = [{'b64': base64.b64encode(png(image)).decode()} for image in images]
    else:
        values = images.tolist()
    return metadata, {'predictions' if row else 'outputs': values}


def mutate_json(rng, document):
    kind = rng.choice(['node', 'node', 'delete', 'pixel'])
    candidates = [path for path in paths(document) if len(path) < 12]
    path = rng.choice(candidates)
    if kind == 'delete' and path:
        return deleted(document, path)
    if kind == 'pixel':  # a value deep in the images: NaN, inf, a string, ...
        deep = [p for p in candidates if len(p) >= 4] or candidates
        path = rng.choice(deep)
        return replaced(document, path, rng.choice([float('nan'), float('inf'), -1.0, 1e308, 'white', None, [],
                                                    {'b64': 'x'}, True]))
    return replaced(document, path, random_json(rng))


def png_answer(rng):
    """A png_from_seed answer with one image that is not what it claims."""
    images = true_images(rng)
    values = [{'b64': base64.b64encode(png(image)).decode()} for image in images]
    victim = rng.randrange(COUNT)
    values[victim] = rng.choice([
        {'b64': 'not base64 at all!'},
        {'b64': base64.b64encode(rng.randbytes(rng.randrange(0, 300))).decode()},
        {'b64': base64.b64encode(png_with_header_size(10**6, 10**6)).decode()},
        {'b64': base64.b64encode(png(true_images(rng, 1, 14)[0])).decode()},  # another size
        {'b64': base64.b64encode(png(true_images(rng, 1)[0])[:50]).decode()},  # cut short
        {'b64': 7}, {'bytes': 'AAAA'}, 'a string', None])
    return {'outputs': values}


def rest_case(rng):
    """(signature, row format, metadata Answer, predict Answer, what was done)."""
    signature = rng.choice(SIGNATURES)
    row = signature == 'serving_default' and rng.random() < 0.5
    metadata, prediction = rest_truth(rng, signature, row)
    target = rng.choice(['metadata', 'predict', 'predict'])
    document = metadata if target == 'metadata' else prediction
    kind = rng.choice(['json', 'json', 'json', 'nested', 'bytes', 'status', 'transport', 'png', 'true'])
    if kind == 'json':
        answer = Answer(json.dumps(mutate_json(rng, document)).encode())
    elif kind == 'nested':
        answer = Answer(nested(rng))
    elif kind == 'bytes':
        text = json.dumps(document).encode()
        answer = Answer(rng.choice([b'', rng.randbytes(rng.randrange(1, 3000)), b'\xff\xfe' + text,
                                    text[:rng.randrange(1, 200)], b'<html>It works</html>']))
    elif kind == 'status':
        answer = Answer(rng.choice([{'error': random_text(rng)}, {'error': random_json(rng)}, random_json(rng),
                                    rng.randbytes(100), nested(rng), b'']),
                        status=rng.choice([400, 401, 403, 404, 409, 413, 429, 500, 501, 502, 503, 504]))
    elif kind == 'transport':
        answer = Answer(json.dumps(document).encode(), mode=rng.choice(['close', 'truncate']))
    elif kind == 'png':
        signature, row, target = 'png_from_seed', False, 'predict'
        answer = Answer(png_answer(rng))
    else:
        answer = Answer(document)
    answers = {'metadata': Answer(metadata), 'predict': Answer(prediction)}
    answers[target] = answer
    return signature, row, answers['metadata'], answers['predict'], f'{kind} {target}'


# ---- The fake servers ----

class Script:
    """The answers the fake servers give next (set per case)."""
    metadata = predict = None


class _RestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer(self.server.script.metadata)

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self._answer(self.server.script.predict)

    def _answer(self, answer):
        if answer.mode == 'silent':
            self.server.hang_up.wait()
            return
        if answer.mode == 'close':
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(answer.body) + (1000 if answer.mode == 'truncate' else 0)))
        self.end_headers()
        self.wfile.write(answer.body)
        if answer.mode == 'truncate':
            self.close_connection = True


@contextlib.contextmanager
def rest_server(script):
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _RestHandler)
    httpd.script, httpd.hang_up = script, threading.Event()
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'127.0.0.1:{httpd.server_address[1]}'
    finally:
        httpd.hang_up.set()
        httpd.shutdown()
        httpd.server_close()


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, script, hang_up):
        self.script, self.hang_up = script, hang_up

    def GetModelMetadata(self, request, context):
        return self._answer(self.script.metadata, context)

    def Predict(self, request, context):
        return self._answer(self.script.predict, context)

    def _answer(self, answer, context):
        if answer == 'silent':
            self.hang_up.wait()
            context.abort(grpc.StatusCode.CANCELLED, 'the test ended')
        if isinstance(answer, tuple):  # (status code, details)
            context.abort(*answer)
        return answer


@contextlib.contextmanager
def grpc_server(script):
    hang_up = threading.Event()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_Servicer(script, hang_up), server)
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
    try:
        yield f'127.0.0.1:{port}'
    finally:
        hang_up.set()
        server.stop(grace=None)


def grpc_metadata(signatures=None, version=1):
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name, response.model_spec.version.value = 'cgan', version
    response.metadata['signature_def'].Pack(signatures or signature_def_map())
    return response


def grpc_prediction(outputs):
    response = predict_pb2.PredictResponse()
    for name, proto in outputs.items():
        response.outputs[name].CopyFrom(proto)
    return response


def broken_tensor(rng, signature):
    """A TensorProto for the images that no export answers."""
    images = true_images(rng)
    proto = tf.make_tensor_proto(images)
    kind = rng.randrange(9)
    if kind == 0:
        proto.tensor_content = proto.tensor_content[:rng.randrange(len(proto.tensor_content))]
    elif kind == 1:
        proto.tensor_shape.dim[0].size = 10**12
        proto.tensor_content = b''
    elif kind == 2:
        proto.tensor_shape.dim[1].size = -5
    elif kind == 3:
        proto.dtype = 999
    elif kind == 4:
        proto = tf.make_tensor_proto(np.full_like(images, np.nan))
    elif kind == 5:
        proto = tf.make_tensor_proto(images[..., 0])  # 3 dimensions
    elif kind == 6:
        proto = tf.make_tensor_proto(images[:1])  # fewer images than asked for
    elif kind == 7:
        proto = tf.make_tensor_proto(np.array([rng.randbytes(rng.randrange(50)) for _ in range(COUNT)], object))
    else:
        proto = tf.make_tensor_proto(images > 0.5)  # booleans
    return proto


def grpc_case(rng):
    signature = rng.choice(SIGNATURES)
    images = true_images(rng)
    truth = {'images': tf.make_tensor_proto(images)} if signature != 'png_from_seed' else {
        'images_png_bytes': tf.make_tensor_proto(np.array([png(image) for image in images], object))}
    metadata, prediction = grpc_metadata(), grpc_prediction(truth)
    kind = rng.choice(['abort', 'abort', 'metadata', 'tensor', 'tensor', 'tensor', 'png', 'missing', 'true'])
    target = 'predict'
    if kind == 'abort':
        target = rng.choice(['metadata', 'predict'])
        answer = (rng.choice(list(grpc.StatusCode)[1:]), rng.choice([random_text(rng), 'line one\nline two', '']))
        metadata, prediction = (answer, prediction) if target == 'metadata' else (metadata, answer)
    elif kind == 'metadata':
        target = 'metadata'
        signatures = signature_def_map()
        victim = signatures.signature_def[signature]
        change = rng.randrange(6)
        if change == 0:
            metadata = get_model_metadata_pb2.GetModelMetadataResponse()  # no signature_def at all
        elif change == 1:
            metadata = grpc_metadata()
            metadata.metadata['signature_def'].Pack(predict_pb2.PredictResponse())  # another message
        elif change == 2:
            next(iter(victim.inputs.values())).dtype = 999
            metadata = grpc_metadata(signatures)
        elif change == 3:
            victim.inputs['label'].dtype = types_pb2.DT_STRING
            metadata = grpc_metadata(signatures)
        elif change == 4:
            victim.ClearField('outputs')
            metadata = grpc_metadata(signatures)
        else:
            signatures.signature_def['serving_default'].inputs['noise'].tensor_shape.dim[1].size = 10**9
            metadata = grpc_metadata(signatures)
    elif kind in ('tensor', 'png'):
        name = 'images_png_bytes' if signature == 'png_from_seed' else 'images'
        proto = broken_tensor(rng, signature) if kind == 'tensor' else tf.make_tensor_proto(
            np.array([png_with_header_size(10**6, 10**6), *[png(image) for image in images[1:]]], object))
        prediction = grpc_prediction({name: proto})
    elif kind == 'missing':
        prediction = grpc_prediction({})
    return signature, metadata, prediction, f'{kind} {target}'


# ---- Running the client ----

@pytest.fixture(scope='module')
def client():
    return serving_client()


def outcome(client, *args):
    """'grid' when the client wrote one, else its one `error:` line; anything else fails."""
    stderr = io.StringIO()
    with flagsaver.flagsaver(), contextlib.redirect_stderr(stderr):
        flags.FLAGS(['client.py', *args])
        try:
            cli.with_one_line_errors(client.main)(['client.py'])
        except SystemExit as e:
            line = str(e.code)
            assert line.startswith('error: ') and '\n' not in line and 'is a bug' not in line, (
                line, stderr.getvalue()[-3000:])
            return line
    return 'grid'


def run_cases(client, tmp_path, server, script, cases, protocol):
    failures, outcomes = [], []
    for number, (signature, row, metadata, prediction, what) in enumerate(cases):
        script.metadata, script.predict = metadata, prediction
        out = tmp_path / f'{number}.png'
        args = [f'--server={server}', f'--protocol={protocol}', '--model=cgan', f'--signature={signature}',
                f'--label={",".join(map(str, LABELS))}', f'--num={NUM}', f'--out={out}', f'--timeout={PATIENCE_S}']
        if row:
            args.append('--rest_format=row')
        try:
            said = outcome(client, *args)
        except BaseException as e:  # noqa: BLE001 - gathered, so one run reports every failing case
            failures.append(f'case {number} ({what}, {signature}): {type(e).__name__}: {str(e)[:300]}\n'
                            f'    metadata {metadata!r:.300}\n    predict {prediction!r:.300}')
            continue
        if said == 'grid':
            grid = iio.imread(out)
            assert grid.ndim == 2 and grid.shape[0] > 28  # a whole grid of the images answered
        else:
            assert not out.exists(), said
        outcomes.append(said)
    assert not failures, '\n'.join(failures)
    return outcomes


def test_every_rest_answer_ends_in_a_grid_or_one_line(client, tmp_path):
    rng = random.Random(SEED)
    cases = [rest_case(rng) for _ in range(REST_CASES)]
    script = Script()
    with rest_server(script) as server:
        outcomes = run_cases(client, tmp_path, server, script, cases, 'rest')
    grids = outcomes.count('grid')
    # The fuzzer reaches both ends: true answers give grids, and most mutations are refused.
    assert 5 <= grids < len(outcomes) // 2, outcomes


def test_every_grpc_answer_ends_in_a_grid_or_one_line(client, tmp_path):
    rng = random.Random(SEED)
    cases = [(signature, False, metadata, prediction, what)
             for signature, metadata, prediction, what in (grpc_case(rng) for _ in range(GRPC_CASES))]
    script = Script()
    with grpc_server(script) as server:
        outcomes = run_cases(client, tmp_path, server, script, cases, 'grpc')
    assert 5 <= outcomes.count('grid') < len(outcomes) // 2, outcomes


@pytest.mark.parametrize('protocol', ['rest', 'grpc'])
def test_a_server_that_never_answers_is_ended_by_the_timeout(client, tmp_path, protocol):
    script = Script()
    script.metadata = Answer(mode='silent') if protocol == 'rest' else 'silent'
    with (rest_server if protocol == 'rest' else grpc_server)(script) as server:
        said = outcome(client, f'--server={server}', f'--protocol={protocol}', '--model=cgan', '--label=1',
                       '--timeout=1', f'--out={tmp_path / "x.png"}')
    assert said == f'error: {server} did not answer within --timeout=1 seconds.'


def test_an_answer_larger_than_the_bound_is_refused_unread(client, tmp_path, monkeypatch):
    monkeypatch.setattr(client, 'MAX_ANSWER_BYTES', 1000)
    rng = random.Random(SEED)
    metadata, _ = rest_truth(rng, 'from_seed', False)
    script = Script()
    script.metadata = Answer(json.dumps(metadata).encode() + b' ' * 5000)
    with rest_server(script) as server:
        said = outcome(client, f'--server={server}', '--protocol=rest', '--model=cgan', '--label=1',
                       f'--out={tmp_path / "x.png"}')
    assert said == f'error: {server} answered more than 1000 bytes; ask for fewer images.'
