"""Writes a labelled RGB PNG folder dataset made from Fashion-MNIST, to measure the models on
colour images: each item is resized to --size (32x32 by default), drawn in a random colour on a random background
colour (one pair per item, one light and one dark; the same --seed writes the same files), and written as
OUT/train/<class>/NNNNN.png and OUT/test/<class>/NNNNN.png. `tfgan2.data.load(OUT)` reads the
train split, `load(OUT, split='test')` the test split.

  .venv/bin/python benchmarks/make_rgb_fashion.py --out=data/rgb_fashion
  .venv/bin/python benchmarks/make_rgb_fashion.py --out=data/rgb64 --size=64 --max_per_split=2000  # small
"""

import os
import re

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string('out', None, 'Folder to write train/ and test/ into; must not hold them yet.')
flags.DEFINE_string('idx_dir', '/usr/share/datasets/fashion-mnist',
                    'Fashion-MNIST IDX files (Debian/Ubuntu: apt-get install dataset-fashion-mnist).')
flags.DEFINE_integer('size', 32, 'Height and width of the written images.', lower_bound=8)
flags.DEFINE_integer('max_per_split', None, 'Write only the first N items of each split.', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Seed of the colours; the same seed writes the same files.')
flags.mark_flag_as_required('out')


def colourize(grey, rng):
    """uint8 [N, H, W, 3]: each grey item [H, W, 1] as a blend from a random background colour
    (where it is black) to a random foreground colour (where it is white), one of them dark
    and the other light so every item stays visible."""
    import numpy as np
    count = len(grey)
    dark = rng.uniform(0, 100, (count, 3))
    light = rng.uniform(155, 255, (count, 3))
    light_items = rng.random(count) < 0.5
    foreground = np.where(light_items[:, None], light, dark)[:, None, None, :]
    background = np.where(light_items[:, None], dark, light)[:, None, None, :]
    alpha = grey.astype(np.float32) / 255.0
    return np.round(background + (foreground - background) * alpha).astype(np.uint8)


def folder_name(class_name):
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', class_name)  # 'T-shirt/top' -> 'T-shirt_top'


def write_split(split, seed):
    """Writes one split into a hidden folder, then renames it into place: it appears whole."""
    import numpy as np
    import tensorflow as tf

    from tfgan2 import data

    final = os.path.join(FLAGS.out, split)
    if tf.io.gfile.exists(final):
        raise app.UsageError(f'{final} already exists; delete it or choose another --out.')
    grey = data.from_idx(FLAGS.idx_dir, split, image_size=FLAGS.size)
    batches = list(grey.elements.batch(4096).as_numpy_iterator())
    images = np.concatenate([images for images, _ in batches])[:FLAGS.max_per_split]
    labels = np.concatenate([labels for _, labels in batches])[:FLAGS.max_per_split]
    colour = colourize(images, np.random.default_rng(seed))
    partial = os.path.join(FLAGS.out, f'.{split}.partial')
    if tf.io.gfile.exists(partial):
        tf.io.gfile.rmtree(partial)
    for class_name in grey.class_names:
        tf.io.gfile.makedirs(os.path.join(partial, folder_name(class_name)))
    for index, (image, label) in enumerate(zip(colour, labels)):
        name = os.path.join(partial, folder_name(grey.class_names[label]), f'{index:05d}.png')
        tf.io.write_file(name, tf.io.encode_png(image))
    tf.io.gfile.rename(partial, final)
    print(f'{final}: {len(colour)} images of {FLAGS.size}x{FLAGS.size}x3 in {len(grey.class_names)} classes')


def main(argv):
    del argv
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    for index, split in enumerate(('train', 'test')):
        write_split(split, seed=[FLAGS.seed, index])


if __name__ == '__main__':
    app.run(main)
