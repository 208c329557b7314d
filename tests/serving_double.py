"""TEST DOUBLE of TensorFlow Serving, for tests only: the real server has no PyPI or Debian
package and there is no docker engine here, so tests talk to this stand-in instead.

It serves `EXPORT_BASE/<model>/<version>` SavedModels the way the C++ server does (a TF1
session per version, signatures run by their tensor names, the highest version by default)
behind the same two front ends, bound to 127.0.0.1 on ports the OS picks:
- gRPC `tensorflow.serving.PredictionService` (Predict, GetModelMetadata), from
  tensorflow-serving-api's generated servicer;
- REST `POST /v1/models/<name>[/versions/<N>]:predict` and `GET .../metadata`, decoding and
  encoding JSON by TF Serving's rules (tensorflow_serving/util/json_tensor.cc): the row
  (`instances`) and columnar (`inputs`) formats, values checked against the signature's dtype
  (an int32 input takes only JSON integers that fit in 32 bits), `{"b64": ...}` for string
  outputs whose name ends in `_bytes`, and errors as `{"error": message}`.
Either front end can be told to misbehave, for the client's tests: `tamper` rewrites its answers.
"""

import base64
import concurrent.futures
import contextlib
import http.server
import json
import os
import re
import threading

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}
_HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.NOT_FOUND: 404,
                grpc.StatusCode.FAILED_PRECONDITION: 400}
_MAX_BODY_BYTES = 16 << 20


class ServingError(Exception):
    """A request the server refuses, with the gRPC status code it answers with."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def _invalid(message):
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


class ServedVersion:
    """One loaded version: a TF1 graph and session, as tensorflow_model_server holds it."""

    def __init__(self, path):
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            self.meta_graph = tf.compat.v1.saved_model.loader.load(
                self.session, [tf.saved_model.SERVING], path)
        self.signatures = dict(self.meta_graph.signature_def)  # All of them, as the server lists.

    def signature(self, name):
        name = name or tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
        if name not in self.signatures:
            raise _invalid(f'Serving signature name: "{name}" not found in signature def')
        return self.signatures[name]

    def predict(self, signature_name, inputs, output_filter=()):
        """Runs a signature on {alias: numpy array}; returns {alias: numpy array}."""
        signature = self.signature(signature_name)
        expected, sent = set(signature.inputs), set(inputs)
        if expected != sent:
            raise _invalid(f'input size does not match signature: {len(sent)}!={len(expected)} '
                           f'len({{{",".join(sorted(sent))}}}) != len({{{",".join(sorted(expected))}}}). '
                           f'Sent extra: {{{",".join(sorted(sent - expected))}}}. '
                           f'Missing but required: {{{",".join(sorted(expected - sent))}}}.')
        feeds = {}
        for index, alias in enumerate(sorted(inputs)):
            info, value = signature.inputs[alias], inputs[alias]
            dtype = tf.dtypes.as_dtype(info.dtype)
            got = tf.string if value.dtype == object else tf.dtypes.as_dtype(value.dtype)
            if got != dtype:  # The C++ session refuses feeds of another dtype; it never converts.
                raise _invalid(f'Expects arg[{index}] to be {dtype.name} but {got.name} is provided')
            feeds[info.name] = value
        aliases = list(output_filter) or sorted(signature.outputs)
        unknown = [alias for alias in aliases if alias not in signature.outputs]
        if unknown:
            raise _invalid(f'output tensor alias not found in signature: {unknown[0]}')
        try:
            values = self.session.run([signature.outputs[alias].name for alias in aliases], feeds)
        except tf.errors.OpError as e:
            raise ServingError(_GRPC_CODES[e.error_code], e.message) from None
        except ValueError as e:  # A feed whose shape the placeholder cannot take.
            raise _invalid(str(e)) from None
        return dict(zip(aliases, values))

    def close(self):
        self.session.close()


class ModelRepository:
    """Every numbered version of each model in {name: base_path}, loaded at start."""

    def __init__(self, base_paths):
        self.models = {}
        for name, base_path in base_paths.items():
            numbers = sorted(int(d) for d in os.listdir(base_path) if d.isdigit())
            self.models[name] = {n: ServedVersion(os.path.join(base_path, str(n))) for n in numbers}

    def get(self, name, version=None):
        """(version number, ServedVersion): the requested one, else the highest."""
        versions = self.models.get(name)
        if not versions:
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f'Servable not found for request: Latest({name})')
        number = max(versions) if version is None else version
        if number not in versions:
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f'Servable not found for request: Specific({name}, {version})')
        return number, versions[number]

    def close(self):
        for versions in self.models.values():
            for served in versions.values():
                served.close()


def signature_def_map(served):
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in served.signatures.items():
        signature_map.signature_def[key].CopyFrom(signature)
    return signature_map


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, repository, tamper):
        self.repository, self.tamper = repository, tamper

    def _served(self, model_spec):
        return self.repository.get(model_spec.name,
                                   model_spec.version.value if model_spec.HasField('version') else None)

    def Predict(self, request, context):
        try:
            number, served = self._served(request.model_spec)
            outputs = served.predict(request.model_spec.signature_name,
                                     {k: tf.make_ndarray(v) for k, v in request.inputs.items()},
                                     list(request.output_filter))
        except ServingError as e:
            context.abort(e.code, e.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = number
        response.model_spec.signature_name = (request.model_spec.signature_name
                                              or tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY)
        for alias, value in outputs.items():
            response.outputs[alias].CopyFrom(tf.make_tensor_proto(value))
        return self.tamper(response) if self.tamper else response

    def GetModelMetadata(self, request, context):
        if list(request.metadata_field) != ['signature_def']:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          'Metadata field(s) not supported: only signature_def is.')
        try:
            number, served = self._served(request.model_spec)
        except ServingError as e:
            context.abort(e.code, e.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = number
        response.metadata['signature_def'].Pack(signature_def_map(served))
        return response


@contextlib.contextmanager
def grpc_server(repository, tamper=None):
    """Serves `repository` over gRPC on 127.0.0.1; yields 'host:port'. `tamper(response)`, if
    given, rewrites every PredictResponse before it is sent."""
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        _PredictionService(repository, tamper), server)
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
    try:
        yield f'127.0.0.1:{port}'
    finally:
        server.stop(grace=None).wait(timeout=10)


# ---- REST: JSON <-> tensors, as tensorflow_serving/util/json_tensor.cc does it ----

def _json_type(value):
    if value is None:
        return 'Null'
    if isinstance(value, bool):
        return 'True' if value else 'False'
    return {dict: 'Object', list: 'Array', str: 'String'}.get(type(value), 'Number')


def _type_error(value, dtype):
    return _invalid(f'JSON Value: {json.dumps(value)} Type: {_json_type(value)} is not of expected '
                    f'type: {dtype.name}')


def _is_b64_object(value):
    return isinstance(value, dict) and list(value) == ['b64'] and isinstance(value['b64'], str)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scalar(value, dtype):
    """One JSON leaf as a value of `dtype`, or the error TF Serving gives."""
    if dtype == tf.string:
        if _is_b64_object(value):
            try:
                return base64.b64decode(value['b64'], validate=True)
            except ValueError:
                raise _invalid('Unable to base64 decode') from None
        if isinstance(value, str):
            return value.encode()
        raise _type_error(value, dtype)
    if dtype in (tf.float32, tf.float64):
        if not _is_number(value):
            raise _type_error(value, dtype)
        limit = (1 << (np.finfo(dtype.as_numpy_dtype).nmant + 1)) - 1  # largest exact integer
        lossy = (abs(value) > limit if isinstance(value, int)
                 else np.isfinite(value) and abs(value) > np.finfo(dtype.as_numpy_dtype).max)
        if lossy:
            raise _invalid(f'Cannot convert JSON value: {json.dumps(value)} to '
                           f'{"float" if dtype == tf.float32 else "double"} without loss of precision.')
        return value
    if dtype.is_integer:
        # rapidjson's IsInt/IsInt64: JSON integers only (3.0 is a double), within the range.
        if not (isinstance(value, int) and not isinstance(value, bool)
                and dtype.min <= value <= dtype.max):
            raise _type_error(value, dtype)
        return value
    if dtype == tf.bool:
        if not isinstance(value, bool):
            raise _type_error(value, dtype)
        return value
    raise ServingError(grpc.StatusCode.UNIMPLEMENTED,
                       f'Conversion of JSON Value: {json.dumps(value)} to type: {dtype.name}')


def _dense_shape(value):
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _fill(value, level, shape, dtype, out):
    if not isinstance(value, list):
        if level != len(shape):
            raise _invalid(f'JSON Value: {json.dumps(value)} found at incorrect level: {level + 1} '
                           f'in the JSON DOM. Expected at level: {len(shape)}')
        if isinstance(value, dict) and dtype != tf.string:
            raise _type_error(value, dtype)
        out.append(_scalar(value, dtype))
        return
    if level >= len(shape):
        raise _invalid(f'Encountered list at unexpected level: {level} expected < {len(shape)}')
    if len(value) != shape[level]:
        raise _invalid(f'Encountered list at unexpected size: {len(value)} at level: {level} '
                       f'expected size: {shape[level]}')
    for item in value:
        _fill(item, level + 1, shape, dtype, out)


def json_to_array(value, dtype):
    """A JSON value (nested lists) as a numpy array of `dtype` (a tf.DType)."""
    shape, values = _dense_shape(value), []
    _fill(value, 0, shape, dtype, values)
    numpy_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    return np.array(values, dtype=numpy_dtype).reshape(shape)


def request_inputs(body, signature):
    """{alias: numpy array} from a JSON predict body, by TF Serving's row/columnar rules."""
    dtypes = {alias: tf.dtypes.as_dtype(info.dtype) for alias, info in signature.inputs.items()}
    if ('instances' in body) == ('inputs' in body):
        raise _invalid("JSON Value: not formatted correctly expecting only one of 'inputs' or "
                       "'instances' keys to exist" if 'inputs' in body
                       else "Missing 'inputs' or 'instances' key")
    if 'inputs' in body:
        columns = body['inputs']
        if not isinstance(columns, dict) or _is_b64_object(columns):
            if len(dtypes) > 1:
                raise _invalid('inputs is a plain value/list, but expecting an object as multiple '
                               'input tensors required as per tensorinfo_map')
            columns = {next(iter(dtypes)): columns}
        missing = [alias for alias in sorted(dtypes) if alias not in columns]
        if missing:
            raise _invalid(f"Missing named input: {missing[0]} in 'inputs' object.")
        return {alias: json_to_array(columns[alias], dtype) for alias, dtype in dtypes.items()}
    rows = body['instances']
    if not isinstance(rows, list):
        raise _invalid("Excepting 'instances' to be an list/array")
    if not rows:
        raise _invalid("No values in 'instances' array")
    named = isinstance(rows[0], dict) and not _is_b64_object(rows[0])
    if not named and len(dtypes) > 1:
        raise _invalid('instances is a plain list, but expecting list of objects as multiple input '
                       'tensors required as per tensorinfo_map')
    items = {alias: [] for alias in dtypes}
    for index, row in enumerate(rows):
        if named != (isinstance(row, dict) and not _is_b64_object(row)):
            raise _invalid(f'Expecting {"object" if named else "value/list"} but got '
                           f'{"list" if named else "object"} at item {index} of input list')
        row = row if named else {next(iter(dtypes)): row}
        if set(row) != set(dtypes):
            raise _invalid(f"Failed to process element: {index} of 'instances' list. JSON object: "
                           f"{json.dumps(row)} keys must be equal to: {','.join(sorted(dtypes))}")
        for alias, value in row.items():
            try:
                item = json_to_array(value, dtypes[alias])
            except ServingError as e:
                raise _invalid(f"Failed to process element: {index} key: {alias} of 'instances' "
                               f"list. Error: {e.message}") from None
            if items[alias] and item.shape != items[alias][0].shape:
                raise _invalid(f'Expecting shape {list(items[alias][0].shape)} but got: {list(item.shape)}')
            items[alias].append(item)
    return {alias: np.stack(values) for alias, values in items.items()}


def _to_json(value, alias):
    """A numpy output as JSON; bytes as {"b64": ...} when the alias ends in `_bytes`."""
    if value.dtype == object:
        as_bytes = alias.endswith('_bytes')
        encode = ((lambda b: {'b64': base64.b64encode(b).decode('ascii')}) if as_bytes
                  else (lambda b: b.decode()))
        return np.vectorize(encode, otypes=[object])(value).tolist() if value.ndim else encode(value.item())
    return value.tolist()


def response_body(outputs, row_format):
    """The JSON answer for {alias: numpy array}: 'predictions' (row) or 'outputs' (columnar)."""
    if not row_format:
        columns = {alias: _to_json(value, alias) for alias, value in outputs.items()}
        return {'outputs': columns if len(columns) > 1 else next(iter(columns.values()))}
    sizes = set()
    for alias, value in outputs.items():
        if value.ndim == 0:
            raise _invalid(f'Tensor name: {alias} has no shape information ')
        sizes.add(value.shape[0])
    if len(sizes) > 1:
        raise _invalid('Tensor outputs have inconsistent batch sizes: ' + str(sorted(sizes)))
    rows = [{alias: _to_json(np.asarray(value[i], value.dtype), alias) for alias, value in outputs.items()}
            for i in range(sizes.pop())]
    return {'predictions': rows if len(outputs) > 1 else [next(iter(r.values())) for r in rows]}


_PREDICT_PATH = re.compile(r'/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)', re.I)
_METADATA_PATH = re.compile(r'/v1/models/([^/:]+)(?:/versions/(\d+))?/metadata', re.I)


def _rest_handler(repository, tamper):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):  # Keep test output quiet.
            pass

        def _reply(self, status, body):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, handle):
            try:
                body = handle()
                self._reply(200, tamper(self.path, body) if tamper else body)
            except ServingError as e:
                self._reply(_HTTP_STATUS.get(e.code, 500), {'error': e.message})

        def do_GET(self):
            match = _METADATA_PATH.fullmatch(self.path)
            if not match:
                return self._reply(404, {'error': f'Malformed request: GET {self.path}'})

            def metadata():
                number, served = repository.get(match[1], int(match[2]) if match[2] else None)
                signature_map = json_format.MessageToDict(signature_def_map(served),
                                                          preserving_proto_field_name=True)
                return {'model_spec': {'name': match[1], 'signature_name': '', 'version': str(number)},
                        'metadata': {'signature_def': signature_map}}
            self._serve(metadata)

        def do_POST(self):
            match = _PREDICT_PATH.fullmatch(self.path)
            length = int(self.headers.get('Content-Length') or 0)
            if not match or match[3].lower() != 'predict' or length > _MAX_BODY_BYTES:
                self.rfile.read(min(length, _MAX_BODY_BYTES))
                return self._reply(400, {'error': f'Malformed request: POST {self.path}'})
            raw = self.rfile.read(length)

            def predict():
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    raise _invalid(f'JSON Parse error: {e}') from None
                if not isinstance(body, dict):
                    raise _invalid(f'JSON Value: {raw[:100]!r} Is not object')
                signature_name = body.get('signature_name', '')
                if not isinstance(signature_name, str):
                    raise _invalid("JSON Value: not formatted correctly. 'signature_name' key must be "
                                   "a string value.")
                _, served = repository.get(match[1], int(match[2]) if match[2] else None)
                inputs = request_inputs(body, served.signature(signature_name))
                return response_body(served.predict(signature_name, inputs), 'instances' in body)
            self._serve(predict)

    return Handler


@contextlib.contextmanager
def rest_server(repository, tamper=None):
    """Serves `repository` over REST on 127.0.0.1; yields 'host:port'. `tamper(path, body)`, if
    given, rewrites every successful answer (a JSON object, or raw bytes to send as they are)."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _rest_handler(repository, tamper))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    thread.start()
    try:
        yield f'127.0.0.1:{httpd.server_address[1]}'
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
