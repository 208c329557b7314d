"""Serving speed of an exported generator, in one run: latency at batch 1 (median per call) and
throughput at batch 256 (images/s) as ratios to the eager Keras generator; what the export's
in-graph input checks cost; and the server memory one image of a request takes.

Rows: the Keras generator called eagerly (baseline); the SavedModel's `serving_default` loaded
with tf.saved_model.load; and the same signature run by tensor names in a TF1 session, which is
how tensorflow_model_server executes it (minus the RPC). Rows are interleaved in every round,
so load from other processes hits each alike.

Input checks: the TF1-session signature against a SavedModel of the same generator without the
checks (batch cap and NaN/inf; for conditional models also label range and batch match), called
alternately one call each, so that even a busy machine slows both alike.

  .venv/bin/python benchmarks/serving_latency.py --model=dcgan
"""

import os
import resource
import statistics
import tempfile
import time

from absl import app, flags, logging

FLAGS = flags.FLAGS

flags.DEFINE_string('model', 'dcgan', 'Which GAN (tfgan2.models.MODELS), at its default size.')
flags.DEFINE_integer('latency_calls', 200, 'Timed batch-1 calls per row and round.', lower_bound=1)
flags.DEFINE_integer('throughput_calls', 20, 'Timed large-batch calls per row and round.', lower_bound=1)
flags.DEFINE_integer('batch_size', 256, 'Batch for the throughput figure.', lower_bound=1)
flags.DEFINE_integer('warmup_calls', 5, 'Untimed calls first (tracing, allocation).', lower_bound=1)
flags.DEFINE_integer('rounds', 5, 'Rounds over all rows; each figure is the median over rounds.',
                     lower_bound=1)
flags.DEFINE_integer('check_pairs', 2000, 'Alternating calls with and without input checks, per round, '
                     'at batch 1 (a twentieth of them at the throughput batch).', lower_bound=20)
flags.DEFINE_integer('memory_images', 2000, 'Images in the from_seed call whose peak memory is measured.',
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


def paired_times(first, second, pairs, warmup):
    """Seconds per call of `first` and of `second`, called alternately (which goes first
    alternating too), after `warmup` untimed calls of each."""
    calls = (first, second)
    for _ in range(warmup):
        first(), second()
    times = ([], [])
    for i in range(pairs):
        for which in (i % 2, 1 - i % 2):
            start = time.perf_counter()
            calls[which]()
            times[which].append(time.perf_counter() - start)
    return times


def export_unchecked(gan, path):
    """Saves `gan`'s serving_default computation without the export's input checks."""
    import tensorflow as tf

    from tfgan2 import export

    names = list(gan.latent_spec())
    function = tf.function(
        lambda *tensors: {export.IMAGES: (gan.generate(dict(zip(names, tensors))) + 1) / 2},
        input_signature=[tf.TensorSpec(spec.shape, spec.dtype, name=name)
                         for name, spec in gan.latent_spec().items()]).get_concrete_function()
    tf.saved_model.save(export._variable_holder([function]), path,
                        signatures={export.SERVING_DEFAULT: function})


def tf1_session(path):
    """(session, signature defs) of a SavedModel, loaded as tensorflow_model_server loads it."""
    import tensorflow as tf
    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        return session, tf.compat.v1.saved_model.loader.load(session, ['serve'], path).signature_def


def session_caller(path):
    """make_call(numpy latent) -> a call of `serving_default` of the SavedModel at `path`, run
    by tensor names in a TF1 session."""
    session, signature_defs = tf1_session(path)
    signature_def = signature_defs['serving_default']

    def make_call(latent):
        feeds = {signature_def.inputs[k].name: v for k, v in latent.items()}
        return lambda: session.run(signature_def.outputs['images'].name, feeds)
    return make_call


def callers(gan, path):
    """{row name: make_call(numpy latent) -> a call returning numpy images}."""
    import tensorflow as tf

    def eager(latent):
        tensors = {k: tf.constant(v) for k, v in latent.items()}
        return lambda: gan.averaged_generator(tensors, training=False).numpy()

    signature = tf.saved_model.load(path).signatures['serving_default']

    def loaded(latent):
        tensors = {k: tf.constant(v) for k, v in latent.items()}
        return lambda: signature(**tensors)['images'].numpy()

    return {'Keras generator, eager (baseline)': eager,
            'serving_default, tf.saved_model.load': loaded,
            'serving_default, TF1 session (as TF Serving)': session_caller(path)}


def peak_kb_per_image(path, gan, count):
    """Growth of this process's peak memory (max RSS) over one `from_seed` call of `count`
    images, per image, run as TF Serving runs it."""
    import numpy as np
    session, signature_defs = tf1_session(path)
    signature_def = signature_defs['from_seed']

    def run(images):
        feeds = {signature_def.inputs['seed'].name: np.int64(0)}
        if gan.conditional:
            feeds[signature_def.inputs['label'].name] = np.arange(images, dtype=np.int32) % NUM_CLASSES
        else:
            feeds[signature_def.inputs['num_images'].name] = np.int32(images)
        session.run(signature_def.outputs['images'].name, feeds)

    run(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    run(count)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / count


def main(argv):
    del argv
    if not FLAGS['verbosity'].present:
        logging.set_verbosity(logging.WARNING)
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import numpy as np
    import tensorflow as tf

    from tfgan2 import build_gan, export

    tf.get_logger().setLevel('ERROR')  # The TF1 loader's deprecation notice.
    tf.keras.utils.set_random_seed(0)
    gan = build_gan(FLAGS.model, image_shape=IMAGE_SHAPE, num_classes=NUM_CLASSES)
    rng = np.random.default_rng(0)

    def latent(batch):
        return {name: (rng.integers(0, NUM_CLASSES, batch).astype(np.int32) if spec.dtype == tf.int32
                       else rng.normal(size=[batch, *spec.shape[1:]]).astype(np.float32))
                for name, spec in gan.latent_spec().items()}

    with tempfile.TemporaryDirectory() as base:
        path = export.export_generator(gan, base, FLAGS.model,
                                       max_batch=max(FLAGS.memory_images, FLAGS.batch_size))
        memory = peak_kb_per_image(path, gan, FLAGS.memory_images)  # First, while the peak is low.
        calls = {name: (make_call(latent(1)), make_call(latent(FLAGS.batch_size)))
                 for name, make_call in callers(gan, path).items()}
        unchecked_path = os.path.join(base, 'unchecked')
        export_unchecked(gan, unchecked_path)
        checked, unchecked = session_caller(path), session_caller(unchecked_path)
        latencies, throughputs = {name: [] for name in calls}, {name: [] for name in calls}
        check_ratios = {1: [], FLAGS.batch_size: []}
        for _ in range(FLAGS.rounds):
            for name, (single_call, batch_call) in calls.items():
                single = timed_calls(single_call, FLAGS.latency_calls, FLAGS.warmup_calls)
                batched = timed_calls(batch_call, FLAGS.throughput_calls, FLAGS.warmup_calls)
                latencies[name].append(statistics.median(single) * 1e3)
                throughputs[name].append(FLAGS.batch_size * len(batched) / sum(batched))
            for batch, pairs in ((1, FLAGS.check_pairs), (FLAGS.batch_size, FLAGS.check_pairs // 20)):
                inputs = latent(batch)
                with_checks, without = paired_times(checked(inputs), unchecked(inputs), pairs,
                                                    FLAGS.warmup_calls)
                check_ratios[batch].append(statistics.median(with_checks) / statistics.median(without))
        rows = {name: (statistics.median(latencies[name]), statistics.median(throughputs[name]))
                for name in calls}

    base_latency, base_throughput = next(iter(rows.values()))
    print(f'{FLAGS.model} ({sum(int(np.prod(v.shape)) for v in gan.generator.variables):,} generator '
          f'weights), TF {tf.__version__}, {os.cpu_count()} CPUs, {FLAGS.rounds} rounds')
    print(f'{"":46} {"batch 1 ms":>11} {"speedup":>8} {f"batch {FLAGS.batch_size} img/s":>16} {"ratio":>7}')
    for name, (latency, throughput) in rows.items():
        print(f'{name:46} {latency:11.2f} {base_latency / latency:7.2f}x {throughput:16.0f} '
              f'{throughput / base_throughput:6.2f}x')
    for batch, ratios in check_ratios.items():
        print(f'input checks, batch {batch}: time per call with / without them, median '
              f'{statistics.median(ratios):.3f} (rounds: {", ".join(f"{r:.3f}" for r in ratios)})')
    print(f'from_seed, {FLAGS.memory_images} images: peak memory {memory:.0f} KB per image')


if __name__ == '__main__':
    app.run(main)
