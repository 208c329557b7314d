"""Asks a TensorFlow Serving model server for images from an exported tfgan2 generator, over
gRPC or REST, and saves them as one grid PNG. See serving/README.md for starting the server.

The signature's inputs are read from the server's model metadata, then filled exactly as
tfgan2-generate fills them for a SavedModel on disk (tfgan2.serving), so both give the same
images for the same flags. Needs the tfgan2 package with TensorFlow, and for gRPC its serving
extra: pip install 'tfgan2[tensorflow,serving]' (which brings tensorflow-serving-api and grpcio).

Examples:
  python serving/client.py --model=cgan --label=0,1,2 --num=8 --seed=3 --out=cgan.png
  python serving/client.py --protocol=rest --server=localhost:8501 --model=cgan \\
      --signature=png_from_seed --label=7 --num=16
  python serving/client.py --protocol=rest --server=localhost:8501 --rest_format=row \\
      --model=dcgan --signature=serving_default --num=16
"""

import base64
import http.client
import json
import math
import sys
import urllib.error
import urllib.request

from absl import flags

from tfgan2 import cli, errors
from tfgan2.cli import sample_flags

FLAGS = flags.FLAGS

flags.DEFINE_string('server', None, 'host:port of the model server (default: localhost:8500 for '
                    'gRPC, localhost:8501 for REST).')
flags.DEFINE_enum('protocol', 'grpc', ['grpc', 'rest'], 'How to talk to the server.')
flags.DEFINE_string('model', 'selfcond', 'Model name, as in the models.config that tfgan2-export writes.')
flags.DEFINE_integer('model_version', None, 'Version to ask for (default: the one the server serves).',
                     lower_bound=1)
flags.DEFINE_enum('rest_format', 'columnar', ['columnar', 'row'],
                  'REST body: columnar ("inputs", any signature) or row ("instances", one object per '
                  'image; only signatures whose inputs all have a batch dimension).')
flags.DEFINE_float('timeout', 30.0, 'Seconds to wait for each answer.', lower_bound=0.1)
flags.adopt_module_key_flags(sample_flags)

DEFAULT_PORTS = {'grpc': 8500, 'rest': 8501}
# The most a server's answer may hold: bytes of a REST body, values of a gRPC tensor (1024
# images of 64x64x3 floats are about 12.6M values, 150 MB as JSON text).
MAX_ANSWER_BYTES = 1 << 30
MAX_ANSWER_VALUES = 1 << 28
MAX_ERROR_BYTES = 1 << 16


class ServerError(errors.Error, RuntimeError):
    """The server could not be reached, refused the request or answered what no model server would."""


def server_address(server, protocol):
    """`server` (host:port) checked, or the protocol's default port on localhost."""
    if server is None:
        return f'localhost:{DEFAULT_PORTS[protocol]}'
    host, _, port = server.rpartition(':')
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise errors.ConfigError(f'--server={server} is not host:port with a port number, e.g. '
                                 f'localhost:{DEFAULT_PORTS[protocol]}.')
    return server


class GrpcPredictor:
    """PredictionService over gRPC: metadata and Predict with TensorProtos of the signature's dtypes."""

    def __init__(self, server, model, version, timeout):
        try:
            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc
        except ImportError:
            raise errors.ConfigError('gRPC needs tensorflow-serving-api: pip install "tfgan2[serving]", or use '
                                     '--protocol=rest.') from None
        self.server, self.model, self.version, self.timeout = server, model, version, timeout
        self.channel = grpc.insecure_channel(server)
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    def _model_spec(self, spec):
        spec.name = self.model
        if self.version:
            spec.version.value = self.version

    def _call(self, method, request):
        import grpc
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                raise ServerError(f'Cannot reach {self.server} over gRPC ({e.details()}). Is the model '
                                  f'server running with --port? (see serving/README.md)') from None
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServerError(f'{self.server} did not answer within --timeout={self.timeout:g} seconds.') from None
            raise ServerError(f'{self.server} answered {e.code().name}: {e.details()}') from None

    def signature_defs(self):
        """(served version, {signature name: SignatureDef})."""
        from tensorflow_serving.apis import get_model_metadata_pb2
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._model_spec(request.model_spec)
        request.metadata_field.append('signature_def')
        response = self._call(self.stub.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        if 'signature_def' not in response.metadata or not response.metadata['signature_def'].Unpack(signature_map):
            raise ServerError(f'{self.server} answered metadata without a signature_def map; is it a TensorFlow '
                              f'Serving model server (--port)?')
        return response.model_spec.version.value, dict(signature_map.signature_def)

    def predict(self, signature_name, signature_def, inputs):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2
        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec)
        request.model_spec.signature_name = signature_name
        for name, value in inputs.items():
            # Typed by the signature: labels go as DT_INT32, which the server requires.
            dtype = tf.dtypes.as_dtype(signature_def.inputs[name].dtype)
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=dtype))
        response = self._call(self.stub.Predict, request)
        return {name: self._array(name, proto) for name, proto in response.outputs.items()}

    def _array(self, name, proto):
        """A TensorProto the server answered, as a numpy array; a shape no answer can have, or
        values that do not fill it, are refused before anything is allocated."""
        import tensorflow as tf
        dims = [dim.size for dim in proto.tensor_shape.dim]
        if any(size < 0 for size in dims) or math.prod(dims) > MAX_ANSWER_VALUES:
            raise ServerError(f'{self.server} answered {name} of shape {dims}, which no tfgan2 export answers.')
        try:
            return tf.make_ndarray(proto)
        except (TypeError, ValueError) as e:  # a dtype numpy lacks; values that do not fill the shape
            raise ServerError(f'{self.server} answered {name} as a tensor that does not read '
                              f'({str(e).splitlines()[0][:200]}).') from None

    def close(self):
        self.channel.close()


class RestPredictor:
    """TF Serving's REST API: GET .../metadata and POST ...:predict with JSON bodies."""

    def __init__(self, server, model, version, timeout, row_format):
        version_path = f'/versions/{version}' if version else ''
        self.url = f'http://{server}/v1/models/{model}{version_path}'
        self.server, self.timeout, self.row_format = server, timeout, row_format

    def _request(self, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data, {'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as e:
            raise ServerError(f'{self.server} answered HTTP {e.code}: {_error_message(e)}') from None
        except TimeoutError:
            raise ServerError(f'{self.server} did not answer within --timeout={self.timeout:g} seconds.') from None
        except (urllib.error.URLError, OSError) as e:
            raise ServerError(f'Cannot reach {self.server}: {getattr(e, "reason", e)}. Is the model '
                              f'server running with --rest_api_port? (see serving/README.md)') from None
        except http.client.HTTPException as e:  # a status line or body cut short, a bad header
            raise ServerError(f'{self.server} answered what is not HTTP ({type(e).__name__}); is it the model '
                              f'server\'s REST port (--rest_api_port)?') from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise ServerError(f'{self.server} answered more than {MAX_ANSWER_BYTES} bytes; ask for fewer images.')
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested beyond Python's stack
            raise ServerError(f'{self.server} answered {raw[:40]!r}, which is not JSON; is it the model '
                              f'server\'s REST port (--rest_api_port)?') from None

    def _field(self, body, *keys):
        """body[keys[0]][keys[1]]..., or a ServerError naming the first key the answer lacks."""
        for depth, key in enumerate(keys):
            if not isinstance(body, dict) or key not in body:
                raise ServerError(f'{self.server} answered without "{".".join(keys[:depth + 1])}"; is it a '
                                  f'TensorFlow Serving REST API (--rest_api_port)?')
            body = body[key]
        return body

    def signature_defs(self):
        from google.protobuf import json_format
        from tensorflow_serving.apis import get_model_metadata_pb2
        body = self._request(f'{self.url}/metadata')
        signature_map, version = self._field(body, 'metadata', 'signature_def'), self._field(body, 'model_spec',
                                                                                          'version')
        if not isinstance(signature_map, dict) or not (
                isinstance(version, int) or isinstance(version, str) and version.isdigit()):
            raise ServerError(f'{self.server} answered metadata whose signature_def is not an object or whose '
                              f'version is not a number; is it a TensorFlow Serving REST API?')
        signature_map = {key: value for key, value in signature_map.items() if key != '@type'}  # an Any's type
        try:
            parsed = json_format.ParseDict(signature_map, get_model_metadata_pb2.SignatureDefMap())
        except (json_format.ParseError, RecursionError) as e:
            raise ServerError(f'{self.server} answered a signature_def that does not read ({str(e)[:200]}).'
                              ) from None
        return int(version), dict(parsed.signature_def)

    def predict(self, signature_name, signature_def, inputs):
        body = {'signature_name': signature_name}
        if self.row_format:
            scalars = sorted(name for name, value in inputs.items() if value.ndim == 0)
            if scalars:
                raise errors.ConfigError(f'The row format ("instances") gives every input one value per image, '
                                         f'so it cannot carry the scalar input(s) {", ".join(scalars)} of '
                                         f'{signature_name}: use --rest_format=columnar, or '
                                         f'--signature=serving_default.')
            count = len(next(iter(inputs.values())))
            body['instances'] = [{name: value[i].tolist() for name, value in inputs.items()}
                                 for i in range(count)]
        else:
            body['inputs'] = {name: value.tolist() for name, value in inputs.items()}
        names = sorted(signature_def.outputs)
        if not names:
            raise ServerError(f'{self.server} lists {signature_name} without outputs; is it a tfgan2 export?')
        answer = self._request(f'{self.url}:predict', body)
        if self.row_format:  # A list of per-image values, or of {output: value} with several outputs.
            rows = self._field(answer, 'predictions')
            if len(names) > 1 and not (isinstance(rows, list) and all(
                    isinstance(row, dict) and set(names) <= set(row) for row in rows)):
                raise ServerError(f'{self.server} answered predictions that are not one object of '
                                  f'{", ".join(names)} per image.')
            columns = {name: [row[name] for row in rows] for name in names} if len(names) > 1 else {
                names[0]: rows}
        else:
            outputs = self._field(answer, 'outputs')
            if len(names) > 1 and not (isinstance(outputs, dict) and set(names) <= set(outputs)):
                raise ServerError(f'{self.server} answered outputs without {", ".join(names)}.')
            columns = outputs if len(names) > 1 else {names[0]: outputs}
        return {name: self._array(name, columns[name], signature_def.outputs[name].dtype) for name in names}

    def _array(self, name, value, dtype_enum):
        try:
            return _from_json(value, dtype_enum)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError):
            # Ragged or nested too deep, strings where numbers belong, {"b64": ...} that is not base64.
            raise ServerError(f'{self.server} answered {name} as JSON that is not a tensor of its signature\'s '
                              f'type.') from None

    def close(self):
        pass


def _error_message(http_error):
    """What an HTTP error answer says: TF Serving's {"error": message}, else the status reason."""
    try:
        said = json.loads(http_error.read(MAX_ERROR_BYTES))
    except (ValueError, RecursionError, OSError, http.client.HTTPException):
        said = None
    message = said.get('error') if isinstance(said, dict) else None
    return message[:2000] if isinstance(message, str) and message.strip() else http_error.reason


def _from_json(value, dtype_enum):
    """A JSON output as a numpy array; {"b64": ...} objects (outputs named *_bytes) as bytes."""
    import numpy as np
    import tensorflow as tf
    dtype = tf.dtypes.as_dtype(dtype_enum)
    if dtype != tf.string:
        return np.asarray(value, dtype.as_numpy_dtype)

    def decode(item):
        if isinstance(item, list):
            return [decode(i) for i in item]
        return base64.b64decode(item['b64'], validate=True) if isinstance(item, dict) else item.encode()
    return np.array(decode(value), dtype=object)


def main(argv):
    # Imported here so that --help and flag errors answer without loading TensorFlow.
    from tfgan2 import serving

    server = server_address(FLAGS.server, FLAGS.protocol)
    if FLAGS.protocol == 'grpc':
        predictor = GrpcPredictor(server, FLAGS.model, FLAGS.model_version, FLAGS.timeout)
    else:
        predictor = RestPredictor(server, FLAGS.model, FLAGS.model_version, FLAGS.timeout,
                                  FLAGS.rest_format == 'row')
    try:
        version, signature_defs = predictor.signature_defs()
        callable_signatures = sorted(name for name in signature_defs if not name.startswith('__'))
        if FLAGS.signature not in callable_signatures:
            raise errors.ConfigError(f'{FLAGS.model} version {version} has no signature {FLAGS.signature!r}; it '
                                     f'has {", ".join(callable_signatures)}.')
        signature_def = signature_defs[FLAGS.signature]
        request = serving.signature_inputs(serving.input_specs(signature_def), FLAGS.label, FLAGS.num,
                                           FLAGS.seed)
        outputs = predictor.predict(FLAGS.signature, signature_def, request.inputs)
        images = serving.output_images(outputs, request.count)
        serving.save_grid(images, request.rows, FLAGS.out)
    except ServerError as e:
        sys.exit(f'error: {serving.error_summary(str(e))}')
    finally:
        predictor.close()
    print(f'Wrote {len(images)} images from {FLAGS.model} version {version} ({FLAGS.signature}, '
          f'{FLAGS.protocol}) to {FLAGS.out}')


def run():
    cli.run(main, __name__)


if __name__ == '__main__':
    run()
