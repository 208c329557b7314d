"""Where training runs: a `tf.distribute` strategy chosen by name, and the mixed-precision policy
that suits its devices.

Create the strategy before any other TensorFlow work in the process (MultiWorkerMirroredStrategy
and TPUs configure the runtime), then build models and the trainer inside `strategy.scope()`.
"""

import json
import os

import tensorflow as tf

from tfgan2 import errors

STRATEGIES = ('default', 'mirrored', 'multi_worker', 'tpu')


def create_strategy(name='default', tpu=None):
    """Returns the `tf.distribute.Strategy` called `name`.

    default: the current single device. mirrored: one replica per local GPU (per logical CPU
    device without GPUs). multi_worker: one process per machine, cluster described by the
    TF_CONFIG environment variable. tpu: the TPU at address `tpu` (a name, grpc://host:port,
    or '' / 'local' on a TPU VM).
    """
    if name not in STRATEGIES:
        raise errors.ConfigError(f'Unknown strategy {name!r}; use one of {", ".join(STRATEGIES)}.')
    if tpu is not None and name != 'tpu':
        raise errors.ConfigError(f'tpu={tpu} only applies to strategy=tpu; choose that strategy or leave tpu out.')
    if name == 'default':
        return tf.distribute.get_strategy()
    if name == 'mirrored':
        devices = tf.config.list_logical_devices('GPU') or tf.config.list_logical_devices('CPU')
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == 'multi_worker':
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy(tpu)


def _check_tf_config():
    """Fails clearly when TF_CONFIG cannot describe a multi-worker cluster."""
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\' (index differs per machine)')
    raw = os.environ.get('TF_CONFIG')
    if not raw:
        raise errors.ConfigError(f'strategy=multi_worker needs the TF_CONFIG environment variable, {example}.')
    try:
        config = json.loads(raw)
        task_type, index = config['task']['type'], int(config['task']['index'])
        members = config['cluster'][task_type]
    except (ValueError, KeyError, TypeError) as e:
        raise errors.ConfigError(f'TF_CONFIG is not valid ({type(e).__name__}: {e}); {example}.') from None
    if not 0 <= index < len(members):
        raise errors.ConfigError(f'TF_CONFIG\'s task is {task_type} {index}, but its cluster lists '
                                 f'{len(members)} {task_type} address(es); {example}.')


def _tpu_strategy(address):
    """Connects to the TPU at `address` and returns a TPUStrategy over all its cores."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or '')
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        raise errors.ConfigError(f'No TPU at tpu={address or ""!r} ({type(e).__name__}: '
                                 f'{str(e).splitlines()[0] if str(e) else "not found"}). Pass the TPU name or '
                                 f'grpc://host:port, or tpu=local on a TPU VM.') from None
    return tf.distribute.TPUStrategy(resolver)


def mixed_precision_policy(strategy):
    """The Keras mixed-precision policy for `strategy`'s devices: float16 on GPUs (with loss
    scaling), bfloat16 on TPUs and CPUs (same range as float32, no loss scaling needed)."""
    on_tpu = isinstance(strategy, tf.distribute.TPUStrategy)
    return 'mixed_float16' if tf.config.list_logical_devices('GPU') and not on_tpu else 'mixed_bfloat16'
