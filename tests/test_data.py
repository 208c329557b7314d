import os
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_idx_dir, synthetic_digits, write_idx
from tfgan2 import data


@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_read_idx_round_trips_shape_and_values(tmp_path, suffix):
    images, _ = synthetic_digits(5)
    path = str(tmp_path / f'images{suffix}')
    write_idx(path, images)
    read = data.read_idx(path)
    assert read.shape == (5, 28, 28) and read.dtype == np.uint8
    np.testing.assert_array_equal(read, images)


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / 'bad'
    bad.write_bytes(b'\x01\x02\x03\x04' + b'\x00' * 16)
    with pytest.raises(ValueError, match='not an IDX file'):
        data.read_idx(str(bad))
    good = tmp_path / 'good'
    write_idx(str(good), np.zeros((4, 3, 3), np.uint8))
    good.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(ValueError, match='truncated'):
        data.read_idx(str(good))


def test_load_dataset_from_idx_dir(idx_dir):
    info = data.load_dataset('fashion_mnist', data_dir=idx_dir)
    assert info.image_shape == (28, 28, 1)
    assert info.num_classes == 10 and info.num_examples == 200
    assert info.class_names[0] == 'T-shirt/top'
    images, labels = next(iter(info.dataset.batch(200)))
    assert images.dtype == tf.float32 and labels.dtype == tf.int32
    assert images.shape == (200, 28, 28, 1)
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
    assert float(tf.reduce_min(images)) == -1.0 and float(tf.reduce_max(images)) > 0.7
    test = data.load_dataset('fashion_mnist', data_dir=idx_dir, split='test')
    assert test.num_examples == 50


def test_uncompressed_idx_files_work_too(tmp_path):
    info = data.load_dataset('mnist', data_dir=make_idx_dir(tmp_path, 30, 10, gz=False))
    assert info.num_examples == 30 and info.class_names[3] == '3'


def test_missing_idx_file_names_it(tmp_path, idx_dir):
    os.symlink(os.path.join(idx_dir, 'train-images-idx3-ubyte.gz'),
               tmp_path / 'train-images-idx3-ubyte.gz')
    with pytest.raises(data.DataUnavailableError, match='train-labels-idx1-ubyte'):
        data.load_dataset('mnist', data_dir=str(tmp_path))
    with pytest.raises(data.DataUnavailableError, match='not a readable directory'):
        data.load_dataset('mnist', data_dir=str(tmp_path / 'nope'))


def test_offline_without_data_fails_fast_naming_both_ways_out(monkeypatch, tmp_path):
    monkeypatch.setattr(data, '_tfds_reachable', lambda: False)
    monkeypatch.setitem(data.DEBIAN_DATA_DIRS, 'fashion_mnist', str(tmp_path / 'not-installed'))
    monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path / 'tfds'))
    start = time.monotonic()
    with pytest.raises(data.DataUnavailableError) as error:
        data.load_dataset('fashion_mnist')
    assert time.monotonic() - start < 60
    message = str(error.value)
    assert 'apt-get install dataset-fashion-mnist' in message and '--data_dir' in message


def test_unknown_dataset_name_is_a_clear_error():
    with pytest.raises(ValueError, match='Unknown dataset'):
        data.load_dataset('no_such_dataset_xyz')


def _epoch_labels(info, **kwargs):
    return [b[1].numpy() for b in data.input_pipeline(info.dataset, 64, seed=3, **kwargs)]


def test_pipeline_batches_shuffles_per_epoch_and_skips_exactly(idx_dir):
    info = data.load_dataset('fashion_mnist', data_dir=idx_dir)
    epoch0 = _epoch_labels(info, epoch=0)
    assert [len(b) for b in epoch0] == [64, 64, 64, 8]  # last partial batch kept
    np.testing.assert_array_equal(np.concatenate(epoch0), np.concatenate(_epoch_labels(info, epoch=0)))
    epoch1 = _epoch_labels(info, epoch=1)
    assert not np.array_equal(np.concatenate(epoch0), np.concatenate(epoch1))
    assert sorted(np.concatenate(epoch0)) == sorted(np.concatenate(epoch1))
    resumed = _epoch_labels(info, epoch=1, skip_batches=2)
    assert len(resumed) == 2
    np.testing.assert_array_equal(np.concatenate(resumed), np.concatenate(epoch1[2:]))
    assert len(_epoch_labels(info, epoch=0, take_batches=2)) == 2
