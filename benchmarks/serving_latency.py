"""Serving speed of an exported generator against calling the Keras generator eagerly, in one run:
latency at batch 1 (median per call) and throughput at batch 256 (images/s), printed with
ratios to the eager baseline.

Rows: the Keras generator called eagerly (baseline); the SavedModel's `serving_default` loaded
with tf.saved_model.load; and the same signature run by tensor names in a TF1 session, which
is how tensorflow_model_server executes it (minus the RPC).

  .venv/bin/python benchmarks/serving_latency.py --model=dcgan
"""

import os
import statistics
import tempfile
import time

from absl import app, flags, logging

FLAGS = flags.FLAGS

flags.DEFINE_string('model', 'dcgan', 'Which GAN (tfgan2.models.MODELS), at its default size.')
flags.DEFINE_integer('latency_calls', 200, 'Timed batch-1 calls per row.', lower_bound=1)
flags.DEFINE_integer('throughput_calls', 20, 'Timed large-batch calls per row.', lower_bound=1)
flags.DEFINE_integer('batch_size', 256, 'Batch for the throughput figure.', lower_bound=1)
flags.DEFINE_integer('warmup_calls', 5, 'Untimed calls first (tracing, allocation).', lower_bound=1)
flags.DEFINE_integer('rounds', 3, 'Rounds over all rows, interleaved so that load from other '
                     'processes hits every row alike; each figure is the median over rounds.',
                     lower_bound=1)

IMAGE_SHAPE, NUM_CLASSES = (28, 28, 1), 10


def timed_calls(call, count, warmup):
    """Seconds taken by each of `count` calls of `call`, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def callers(gan, path):
    """{row name: make_call(numpy latent) -> a call returning numpy images}."""
    import tensorflow as tf

    def eager(latent):
        tensors = {k: tf.constant(v) for k, v in latent.items()}
        return lambda: gan.generator(tensors, training=False).numpy()

    signature = tf.saved_model.load(path).signatures['serving_default']

    def loaded(latent):
        tensors = {k: tf.constant(v) for k, v in latent.items()}
        return lambda: signature(**tensors)['images'].numpy()

    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        signature_def = tf.compat.v1.saved_model.loader.load(session, ['serve'], path).signature_def
    served = signature_def['serving_default']

    def tf1_session(latent):
        feeds = {served.inputs[k].name: v for k, v in latent.items()}
        return lambda: session.run(served.outputs['images'].name, feeds)

    return {'Keras generator, eager (baseline)': eager,
            'serving_default, tf.saved_model.load': loaded,
            'serving_default, TF1 session (as TF Serving)': tf1_session}


def main(argv):
    del argv
    if not FLAGS['verbosity'].present:
        logging.set_verbosity(logging.WARNING)
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import numpy as np
    import tensorflow as tf
    from tfgan2 import export, models

    tf.get_logger().setLevel('ERROR')  # The TF1 loader's deprecation notice.
    tf.keras.utils.set_random_seed(0)
    gan = models.build_gan(FLAGS.model, IMAGE_SHAPE, NUM_CLASSES)
    rng = np.random.default_rng(0)

    def latent(batch):
        return {name: (rng.integers(0, NUM_CLASSES, batch).astype(np.int32) if spec.dtype == tf.int32
                       else rng.normal(size=[batch, *spec.shape[1:]]).astype(np.float32))
                for name, spec in gan.latent_spec().items()}

    with tempfile.TemporaryDirectory() as base:
        path = export.export_generator(gan, base, FLAGS.model)
        calls = {name: (make_call(latent(1)), make_call(latent(FLAGS.batch_size)))
                 for name, make_call in callers(gan, path).items()}
        latencies, throughputs = {name: [] for name in calls}, {name: [] for name in calls}
        for _ in range(FLAGS.rounds):
            for name, (single_call, batch_call) in calls.items():
                single = timed_calls(single_call, FLAGS.latency_calls, FLAGS.warmup_calls)
                batched = timed_calls(batch_call, FLAGS.throughput_calls, FLAGS.warmup_calls)
                latencies[name].append(statistics.median(single) * 1e3)
                throughputs[name].append(FLAGS.batch_size * len(batched) / sum(batched))
        rows = {name: (statistics.median(latencies[name]), statistics.median(throughputs[name]))
                for name in calls}

    base_latency, base_throughput = next(iter(rows.values()))
    print(f'{FLAGS.model} ({sum(int(np.prod(v.shape)) for v in gan.generator.variables):,} generator '
          f'weights), TF {tf.__version__}, {os.cpu_count()} CPUs')
    print(f'{"":46} {"batch 1 ms":>11} {"speedup":>8} {f"batch {FLAGS.batch_size} img/s":>16} {"ratio":>7}')
    for name, (latency, throughput) in rows.items():
        print(f'{name:46} {latency:11.2f} {base_latency / latency:7.2f}x {throughput:16.0f} '
              f'{throughput / base_throughput:6.2f}x')


if __name__ == '__main__':
    app.run(main)
