import gzip
import io
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from conftest import make_idx_dir, synthetic_digits, write_idx

from tfgan2 import data
from tfgan2.data import tfds_source


def write_png(path, image):
    tf.io.gfile.makedirs(os.path.dirname(path))
    tf.io.write_file(path, tf.io.encode_png(image))


def colour_folder(root, classes=('cat', 'dog', 'emu'), per_class=3, size=(8, 6)):
    """Class c's images are filled with the value 40 * (c + 1) in every channel."""
    for label, name in enumerate(classes):
        for i in range(per_class):
            write_png(f'{root}/{name}/{i:03d}.png', np.full((*size, 3), 40 * (label + 1), np.uint8))
    return str(root)


def all_elements(image_data):
    images, labels = zip(*((image.numpy(), label.numpy()) for image, label in image_data.elements))
    return np.stack(images), np.array(labels)


def epoch_labels(image_data, batch_size=4, seed=3, epoch=0, **kwargs):
    batches = data.input_pipeline(image_data, batch_size, seed, epoch, **kwargs)
    return np.concatenate([labels.numpy() for _, labels in batches])


# IDX files

@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_read_idx_round_trips_shape_and_values(tmp_path, suffix):
    images, _ = synthetic_digits(5)
    path = str(tmp_path / f'images{suffix}')
    write_idx(path, images)
    read = data.read_idx(path)
    assert read.shape == (5, 28, 28) and read.dtype == np.uint8
    np.testing.assert_array_equal(read, images)


def test_read_idx_rejects_bad_magic_truncation_and_broken_gzip(tmp_path):
    bad = tmp_path / 'bad'
    bad.write_bytes(b'\x01\x02\x03\x04' + b'\x00' * 16)
    with pytest.raises(ValueError, match='not an IDX file'):
        data.read_idx(str(bad))
    good = tmp_path / 'good'
    write_idx(str(good), np.zeros((4, 3, 3), np.uint8))
    good.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(ValueError, match='truncated'):
        data.read_idx(str(good))
    not_gzip = tmp_path / 'plain.gz'
    not_gzip.write_bytes(b'\x00\x00\x08\x01\x00\x00\x00\x00')
    cut_gzip = tmp_path / 'cut.gz'
    cut_gzip.write_bytes(gzip.compress(bytes(range(256)) * 4)[:-10])
    for path in (not_gzip, cut_gzip):
        with pytest.raises(ValueError, match='not a complete gzip file'):
            data.read_idx(str(path))


def test_idx_folder_loads_both_splits_with_digit_class_names(idx_dir):
    train = data.load(idx_dir)
    assert (train.name, train.source) == (os.path.basename(idx_dir), f'idx:{idx_dir}')
    assert train.image_shape == (28, 28, 1) and train.num_examples == 200
    assert train.num_classes == 10 and train.class_names[3] == '3' and train.labeled
    images, labels = all_elements(train)
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    np.testing.assert_array_equal(images[..., 0], synthetic_digits(200)[0])
    assert data.load(idx_dir, split='test').num_examples == 50
    assert data.load(make_idx_dir(os.path.dirname(idx_dir) + '/plain', 100, 10, gz=False)).num_examples == 100


def test_fashion_mnist_comes_from_debians_folder_when_installed(monkeypatch, idx_dir):
    monkeypatch.setitem(data.DEBIAN_DATA_DIRS, 'fashion_mnist', idx_dir)
    fashion = data.load('fashion_mnist', image_size=32)
    assert (fashion.name, fashion.source) == ('fashion_mnist', f'idx:{idx_dir}')
    assert fashion.class_names[0] == 'T-shirt/top' and fashion.image_shape == (32, 32, 1)


def test_broken_idx_folders_are_one_line_errors(tmp_path, idx_dir):
    os.symlink(os.path.join(idx_dir, 'train-images-idx3-ubyte.gz'), tmp_path / 'train-images-idx3-ubyte.gz')
    with pytest.raises(data.DataUnavailableError, match='train-labels-idx1-ubyte'):
        data.load(str(tmp_path))
    write_idx(str(tmp_path / 'train-labels-idx1-ubyte.gz'), np.zeros(199, np.uint8))
    with pytest.raises(ValueError, match='200 images but .* labels of shape \\(199,\\)'):
        data.load(str(tmp_path))
    empty = tmp_path / 'empty'
    empty.mkdir()
    write_idx(str(empty / 'train-images-idx3-ubyte'), np.zeros((0, 28, 28), np.uint8))
    write_idx(str(empty / 'train-labels-idx1-ubyte'), np.zeros(0, np.uint8))
    with pytest.raises(ValueError, match='holds no images'):
        data.load(str(empty))


def test_idx_labels_that_would_build_the_wrong_model_are_refused(tmp_path):
    images, labels = synthetic_digits(50)
    for stray in (255, 11):
        labels[7] = stray
        write_idx(str(tmp_path / 'train-images-idx3-ubyte'), images)
        write_idx(str(tmp_path / 'train-labels-idx1-ubyte'), labels)
        with pytest.raises(ValueError, match=f'labels go up to {stray} but only 11 of the classes'):
            data.load(str(tmp_path))


# TFDS

def test_offline_without_data_fails_fast_naming_the_ways_out(monkeypatch, tmp_path):
    monkeypatch.setattr(tfds_source, '_tfds_reachable', lambda: False)
    monkeypatch.setitem(data.DEBIAN_DATA_DIRS, 'fashion_mnist', str(tmp_path / 'not-installed'))
    monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path / 'tfds'))
    import tensorflow_datasets as tfds
    downloads = []  # failing fast means never starting TFDS's download and its minutes of retries
    monkeypatch.setattr(tfds.core.DatasetBuilder, 'download_and_prepare', lambda *a, **k: downloads.append(a))
    with pytest.raises(data.DataUnavailableError) as error:
        data.load('fashion_mnist')
    assert downloads == []
    message = str(error.value)
    assert 'apt-get install dataset-fashion-mnist' in message and 'IDX files' in message
    assert '\n' not in message


def test_unknown_names_and_missing_paths_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match='neither a file or folder nor a TFDS dataset'):
        data.load('no_such_dataset_xyz')
    with pytest.raises(data.DataUnavailableError, match='does not exist'):
        data.load(str(tmp_path / 'nope'))


@pytest.fixture
def mock_tfds(monkeypatch):
    monkeypatch.setattr(tfds_source, '_tfds_reachable', lambda: True)  # mock_data prepares nothing
    with tfds.testing.mock_data(num_examples=6):
        yield


def test_tfds_dataset_with_labels(mock_tfds):
    mnist = data.load('tfds:mnist')
    assert (mnist.name, mnist.source) == ('mnist', 'tfds:mnist')
    assert mnist.image_shape == (28, 28, 1) and mnist.num_examples == 6
    assert mnist.num_classes == 10 and mnist.class_names[:2] == ('0', '1')
    images, labels = all_elements(mnist)
    assert images.dtype == np.uint8 and labels.dtype == np.int32 and labels.min() >= 0


def test_tfds_dataset_without_labels_is_unlabeled(mock_tfds):
    faces = data.from_tfds('celeb_a', image_size=(16, 12))
    assert faces.image_shape == (16, 12, 3) and not faces.labeled and faces.class_names is None
    assert set(all_elements(faces)[1]) == {-1}


def test_tfds_variable_size_needs_image_size(mock_tfds):
    with pytest.raises(ValueError, match='varying size; pass image_size='):
        data.from_tfds('tf_flowers')
    flowers = data.from_tfds('tf_flowers', image_size=10)
    assert flowers.image_shape == (10, 10, 3) and flowers.num_classes == 5
    streamed = data.from_tfds('tf_flowers', image_size=10, memory_budget_mb=0)
    assert streamed.num_examples == 6
    images, _ = next(iter(data.input_pipeline(streamed, 4, seed=0)))
    assert images.shape == (4, 10, 10, 3) and images.dtype == tf.float32


# Folders of images

def test_labelled_rgb_folder_gives_sorted_class_names_and_labels(tmp_path):
    folder = colour_folder(tmp_path / 'pets')
    pets = data.load(folder)
    assert (pets.name, pets.source) == ('pets', f'folder:{folder}')
    assert pets.class_names == ('cat', 'dog', 'emu') and pets.num_classes == 3
    assert pets.image_shape == (8, 6, 3) and pets.num_examples == 9
    images, labels = all_elements(pets)
    np.testing.assert_array_equal(images[:, 0, 0, 0], 40 * (labels + 1))


def test_flat_greyscale_folder_is_unlabeled_and_rgba_becomes_rgb(tmp_path):
    for i in range(3):
        write_png(f'{tmp_path}/grey/{i}.png', np.full((5, 7, 1), 10 * i, np.uint8))
    grey = data.load(str(tmp_path / 'grey'))
    assert grey.image_shape == (5, 7, 1) and not grey.labeled and grey.class_names is None
    images, labels = all_elements(grey)
    assert list(images[:, 0, 0, 0]) == [0, 10, 20] and set(labels) == {-1}
    write_png(f'{tmp_path}/rgba/a.png', np.full((4, 4, 4), 99, np.uint8))
    assert data.load(str(tmp_path / 'rgba')).image_shape == (4, 4, 3)


def icon(alpha):
    """A 2x2 RGBA icon: red where opaque, green under the transparency (what files often store)."""
    pixels = np.zeros((2, 2, 4), np.uint8)
    pixels[..., 0], pixels[..., 1] = 255, 0
    pixels[1] = (0, 255, 0, 0)  # transparent row: its stored colour must not show
    pixels[0, :, 3] = alpha
    return pixels


@pytest.mark.parametrize('background, transparent, half', [
    ('white', (255, 255, 255), (255, 128, 128)),  # red at alpha 128/255 over white
    ('black', (0, 0, 0), (128, 0, 0)),
    ('#2040ff', (32, 64, 255), (144, 32, 128)),
])
def test_transparent_pixels_take_the_background_colour(tmp_path, background, transparent, half):
    write_png(f'{tmp_path}/icons/a.png', icon(alpha=255))
    write_png(f'{tmp_path}/icons/b.png', icon(alpha=128))
    images, _ = all_elements(data.load(str(tmp_path / 'icons'), background=background))
    np.testing.assert_array_equal(images[0, 0], [(255, 0, 0)] * 2)  # opaque: unchanged
    np.testing.assert_array_equal(images[:, 1], [[transparent] * 2] * 2)
    np.testing.assert_allclose(images[1, 0], [half] * 2, atol=1)
    arrays, _ = all_elements(data.load(np.stack([icon(255), icon(128)]), background=background))
    np.testing.assert_array_equal(arrays, images)  # arrays with alpha are composited alike


def test_folders_mixing_grey_rgb_and_alpha_follow_the_first_image(tmp_path):
    write_png(f'{tmp_path}/mixed/0.png', np.full((2, 2, 1), 100, np.uint8))  # grey first: grey data
    write_png(f'{tmp_path}/mixed/1.png', icon(alpha=255))
    write_png(f'{tmp_path}/mixed/2.png', np.dstack([np.full((2, 2, 1), 50, np.uint8), np.zeros((2, 2, 1), np.uint8)]))
    grey = data.load(str(tmp_path / 'mixed'), background='white')
    images, _ = all_elements(grey)
    assert grey.image_shape == (2, 2, 1)
    assert images[0].max() == images[0].min() == 100 and images[2].min() == 255  # transparent grey: white
    assert images[1, 0, 0, 0] == 76  # opaque red as grey: 0.299 * 255


def test_a_background_that_is_not_a_colour_is_refused():
    for images in (np.zeros((2, 4, 4, 4), np.uint8), np.zeros((2, 4, 4, 3), np.uint8)):  # with alpha or not
        with pytest.raises(ValueError, match="background='gray' is not a colour; pass white, black or #rrggbb"):
            data.load(images, background='gray')


def test_images_of_two_sizes_need_image_size(tmp_path):
    write_png(f'{tmp_path}/mixed/a.png', np.zeros((8, 8, 3), np.uint8))
    write_png(f'{tmp_path}/mixed/b.png', np.full((12, 6, 3), 200, np.uint8))
    with pytest.raises(ValueError, match=r'b.png is 12x6 but the first image is 8x8; pass image_size='):
        data.load(str(tmp_path / 'mixed'))
    resized = data.load(str(tmp_path / 'mixed'), image_size='4x4')
    images, _ = all_elements(resized)
    assert resized.image_shape == (4, 4, 3) and images[1].min() == 200


def test_a_source_without_splits_is_all_train_and_has_no_test_split(tmp_path):
    colour_folder(tmp_path / 'flat', per_class=1)
    assert data.load(str(tmp_path / 'flat')).num_examples == 3
    with pytest.raises(data.DataUnavailableError, match="has no 'test' split of its own"):
        data.load(str(tmp_path / 'flat'), split='test')


def test_split_folders(tmp_path):
    colour_folder(tmp_path / 'shapes' / 'train', per_class=2)
    colour_folder(tmp_path / 'shapes' / 'test', per_class=1)
    train, test = data.load(str(tmp_path / 'shapes')), data.load(str(tmp_path / 'shapes'), split='test')
    assert (train.num_examples, test.num_examples) == (6, 3)
    assert train.name == test.name == 'shapes' and test.source.endswith('shapes/test')
    assert data.load(str(tmp_path / 'shapes' / 'train')).name == 'shapes'
    with pytest.raises(ValueError, match="no 'validation' one; add .*shapes/validation"):
        data.load(str(tmp_path / 'shapes'), split='validation')


def test_broken_folders_are_one_line_errors(tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no images'):
        data.load(str(tmp_path / 'empty'))
    colour_folder(tmp_path / 'some', classes=('a',))
    (tmp_path / 'some' / 'b').mkdir()
    with pytest.raises(ValueError, match='class folder .*b has no images'):
        data.load(str(tmp_path / 'some'))
    colour_folder(tmp_path / 'bad')
    (tmp_path / 'bad' / 'dog' / 'broken.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='broken.png is not an image TensorFlow can decode'):
        data.load(str(tmp_path / 'bad'))


def test_folder_too_large_for_memory_is_read_file_by_file(tmp_path):
    folder = colour_folder(tmp_path / 'pets', per_class=4)
    in_memory, on_demand = data.load(folder), data.load(folder, memory_budget_mb=0)
    for a, b in zip(all_elements(in_memory), all_elements(on_demand)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(epoch_labels(on_demand, 5, 1, 2), epoch_labels(in_memory, 5, 1, 2))
    images, labels = next(iter(data.input_pipeline(on_demand, 5, seed=1, epoch=2)))
    assert np.allclose(images[:, 0, 0, 0], (40 * (labels.numpy() + 1) - 127.5) / 127.5)


# NumPy arrays and files

def test_npz_and_npy_files(tmp_path):
    images = np.arange(4 * 5 * 5, dtype=np.uint8).reshape(4, 5, 5)
    np.savez(tmp_path / 'digits.npz', x=images, y=[0, 1, 1, 0], class_names=['zero', 'one'])
    digits = data.load(str(tmp_path / 'digits.npz'))
    assert (digits.name, digits.source) == ('digits', f'npz:{tmp_path}/digits.npz')
    assert digits.image_shape == (5, 5, 1) and digits.class_names == ('zero', 'one')
    np.testing.assert_array_equal(all_elements(digits)[0][..., 0], images)
    np.savez(tmp_path / 'keras.npz', x_train=images, y_train=[0, 1, 2, 3], x_test=images[:1], y_test=[0])
    assert data.load(str(tmp_path / 'keras.npz'), split='test').num_examples == 1
    np.save(tmp_path / 'faces.npy', np.ones((3, 4, 4, 3), np.float32))
    faces = data.load(str(tmp_path / 'faces.npy'))
    assert not faces.labeled and all_elements(faces)[0].min() == 255
    (tmp_path / 'broken.npz').write_bytes(b'PK\x03\x04 not really')
    with pytest.raises(ValueError, match='not a readable .npz file'):
        data.load(str(tmp_path / 'broken.npz'))
    np.savez(tmp_path / 'other.npz', pixels=images)
    with pytest.raises(ValueError, match='holds pixels; name the images'):
        data.load(str(tmp_path / 'other.npz'))


@pytest.mark.parametrize('low, high', [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_float_images_in_each_range_become_the_same_uint8(low, high):
    pixels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    floats = (low + pixels.astype(np.float32) * (high - low) / 255).astype(np.float32)
    np.testing.assert_array_equal(all_elements(data.from_arrays(floats))[0][..., 0], pixels)


@pytest.mark.parametrize('values, found', [
    ((0.0, 300.0), r'float32 with values in \[0, 300\]'),
    ((0.0, 1.5), r'float32 with values in \[0, 1.5\]'),  # [0, 1] gone over, or [0, 255] nearly black?
    ((-1.0, 2.0), r'float32 with values in \[-1, 2\]'),
])
def test_pixel_values_out_of_range_are_refused_saying_what_was_found(values, found):
    with pytest.raises(ValueError, match=found + r'; pass uint8 in \[0, 255\], or floats in \[0, 1\], '):
        data.from_arrays(np.linspace(*values, 2 * 9, dtype=np.float32).reshape(2, 3, 3))
    with pytest.raises(ValueError, match='images are int64'):
        data.from_arrays(np.zeros((2, 3, 3), np.int64))


@pytest.mark.parametrize('labels, message', [
    ([0, 1, -1, 1], 'label -1 is negative'),
    ([0, 1, 255, 1], 'labels go up to 255 but only 3 of the classes 0..255 occur \\(2 never does\\)'),
    ([0, 1, 2_000_000_000, 1], 'labels go up to 2000000000'),
    ([0.0, 1.0, 1.0, 0.0], 'labels are float64'),
    ([0, 1, 1], 'labels of shape \\(3,\\)'),
])
def test_labels_are_checked_before_anything_is_built(labels, message):
    with pytest.raises(ValueError, match=message):
        data.from_arrays(np.zeros((4, 3, 3), np.uint8), labels)


def test_names_are_derived_safely_and_validated(tmp_path):
    np.save(tmp_path / 'My photos (2024).npy', np.zeros((1, 2, 2), np.uint8))
    assert data.load(str(tmp_path / 'My photos (2024).npy')).name == 'My_photos__2024_'
    with pytest.raises(ValueError, match="name='../x' cannot name data"):
        data.from_arrays(np.zeros((1, 2, 2), np.uint8), name='../x')


# tf.data.Dataset

def test_images_only_dataset_is_unlabeled():
    images = np.random.default_rng(0).random((10, 4, 4, 3)).astype(np.float32)
    faces = data.load(tf.data.Dataset.from_tensor_slices(images))
    assert (faces.name, faces.source) == ('dataset', 'dataset')
    assert faces.image_shape == (4, 4, 3) and faces.num_examples == 10 and not faces.labeled
    np.testing.assert_array_equal(all_elements(faces)[0], np.round(images * 255).astype(np.uint8))


def test_batched_dataset_of_pairs_and_of_dicts():
    images = np.zeros((7, 4, 4, 1), np.uint8)
    labels = np.array([[0], [1], [2], [0], [1], [2], [0]])  # as keras.datasets gives them
    pairs = data.from_dataset(tf.data.Dataset.from_tensor_slices((images, labels)).batch(3))
    assert pairs.num_examples == 7 and pairs.class_names == ('0', '1', '2')
    np.testing.assert_array_equal(all_elements(pairs)[1], labels[:, 0])
    dicts = tf.data.Dataset.from_tensor_slices({'image': images, 'label': labels[:, 0], 'id': np.arange(7)})
    named = data.from_dataset(dicts, class_names=['a', 'b', 'c'], name='abc')
    assert named.class_names == ('a', 'b', 'c') and named.name == 'abc'


def test_dataset_too_large_for_memory_streams_the_same_images():
    images = np.random.default_rng(1).integers(0, 255, (9, 3, 3, 3), np.uint8)
    labels = np.arange(9) % 3
    source = tf.data.Dataset.from_tensor_slices((images, labels))
    streamed = data.from_dataset(source, memory_budget_mb=0)
    for a, b in zip(all_elements(streamed), (images, labels)):
        np.testing.assert_array_equal(a, b)
    assert sorted(epoch_labels(streamed)) == sorted(labels)
    tf.random.set_seed(0)  # a streamed order also depends on the global seed
    whole = epoch_labels(streamed)
    tf.random.set_seed(0)
    np.testing.assert_array_equal(epoch_labels(streamed, 3, start=5), whole[5:])


def test_keras_image_dataset_from_directory_keeps_its_pixels_and_class_names(tmp_path):
    import keras
    folder = colour_folder(tmp_path / 'pets', per_class=2)
    batches = keras.utils.image_dataset_from_directory(folder, image_size=(8, 6), batch_size=4, shuffle=False)
    pets = data.load(batches)  # floats in [0, 255], batched, with class_names
    assert pets.class_names == ('cat', 'dog', 'emu') and pets.num_examples == 6
    images, labels = all_elements(pets)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(images, np.full((6, 8, 6, 3), 40, np.uint8) * (labels + 1)[:, None, None, None])


def test_dataset_pixel_range_is_judged_from_the_first_images_and_checked_later():
    with pytest.raises(ValueError, match=r'images are float32 with values in \[0, 300\]'):
        data.from_dataset(tf.data.Dataset.from_tensor_slices(np.linspace(0, 300, 12, dtype=np.float32)
                                                             .reshape(3, 2, 2, 1)))
    later_negative = np.concatenate([np.full((300, 2, 2, 1), 0.5), np.full((1, 2, 2, 1), -0.5)])
    with pytest.raises(ValueError, match=r'an image has values outside \[0, 1\], the range of its first'):
        data.from_dataset(tf.data.Dataset.from_tensor_slices(later_negative.astype(np.float32)))
    with pytest.raises(ValueError, match='repeats forever'):
        data.from_dataset(tf.data.Dataset.from_tensor_slices(np.zeros((2, 2, 2, 1), np.uint8)).repeat())


# Remote storage (ram:// stands in for gs://)

def test_ram_filesystem_folder_and_npz():
    colour_folder('ram://data_test/pets')
    pets = data.load('ram://data_test/pets')
    assert pets.source == 'folder:ram://data_test/pets' and pets.num_examples == 9
    npz = io.BytesIO()
    np.savez(npz, images=np.zeros((2, 3, 3), np.uint8), labels=[1, 0])
    with tf.io.gfile.GFile('ram://data_test/digits.npz', 'wb') as f:
        f.write(npz.getvalue())
    digits = data.load('ram://data_test/digits.npz')
    assert digits.source == 'npz:ram://data_test/digits.npz' and digits.num_classes == 2


# input_pipeline

def test_pipeline_order_depends_only_on_seed_and_epoch_and_resumes_exactly():
    labelled = data.from_arrays(np.zeros((30, 2, 2), np.uint8), np.arange(30) % 10)
    tf.random.set_seed(1)
    epoch0 = [labels.numpy() for _, labels in data.input_pipeline(labelled, 8, seed=3)]
    assert [len(batch) for batch in epoch0] == [8, 8, 8, 6]  # last partial batch kept
    tf.random.set_seed(2)
    np.testing.assert_array_equal(np.concatenate(epoch0), epoch_labels(labelled, 8, 3, 0))
    epoch1 = epoch_labels(labelled, 8, 3, 1)
    assert not np.array_equal(np.concatenate(epoch0), epoch1)
    assert sorted(epoch1) == sorted(np.arange(30) % 10)
    np.testing.assert_array_equal(epoch_labels(labelled, 8, 3, 1, start=16), epoch1[16:])
    np.testing.assert_array_equal(epoch_labels(labelled, 5, 3, 1, start=8, stop=24), epoch1[8:24])


def test_pipeline_scales_to_minus_one_one():
    black_and_white = data.from_arrays(np.array([[[0]], [[255]]], np.uint8))
    images, labels = next(iter(data.input_pipeline(black_and_white, 2, seed=0)))
    assert images.dtype == tf.float32 and labels.dtype == tf.int32
    assert sorted(images.numpy().ravel()) == [-1.0, 1.0] and list(labels.numpy()) == [-1, -1]


# Command-line flags

def test_load_from_flags(idx_dir):
    from absl import flags
    from absl.testing import flagsaver

    from tfgan2.cli import data_flags
    flags.FLAGS.mark_as_parsed()
    with flagsaver.flagsaver(data=idx_dir, image_size='32x24'):
        test = data_flags.load_from_flags(split='test')
        assert test.image_shape == (32, 24, 1) and test.num_examples == 50
        flags.FLAGS['dataset'].present = 1
        with pytest.raises(ValueError, match='both name the images; pass one of them'):
            data_flags.load_from_flags()
