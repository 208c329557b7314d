"""What offline quality costs on unlabeled data: CPU time (process time, all threads) to train the
self-supervised evaluation encoder on --data, to set up an Evaluator (real features, floors and
their intervals, the training images' features for the copy check), and to evaluate
--num_samples generated images (here: real test images, so the figures sit at their floors).
Labels, if any, are not used.

  PYTHONPATH=. .venv/bin/python benchmarks/encoder_cost.py --data=fashion_mnist
  PYTHONPATH=. .venv/bin/python benchmarks/encoder_cost.py --data=rgb64/      # make_rgb_fashion.py --size=64
"""

import os
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string('data', 'fashion_mnist', 'Images with a test split (anything tfgan2.data.load takes).')
flags.DEFINE_integer('num_samples', 5000, 'Images per evaluation.')


def main(argv):
    del argv
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import logging

    import numpy as np

    import tfgan2
    from tfgan2.evaluation import evaluate
    logging.basicConfig(level=logging.INFO, format='%(message)s')

    def without_labels(split):
        data = tfgan2.data.load(FLAGS.data, split=split)
        (images, _), = evaluate.sample_arrays(data, [data.num_examples])
        return tfgan2.data.from_arrays(images, name=data.name)

    train, test = without_labels('train'), without_labels('test')
    start = time.process_time()
    evaluator = evaluate.Evaluator(train, test, num_samples=FLAGS.num_samples,
                                   cache_dir=tempfile.mkdtemp(prefix='encoder-cost-'))
    setup = time.process_time() - start
    (images, _), = evaluate.sample_arrays(test, [test.num_examples], seed=1)
    start = time.process_time()
    evaluation = evaluator.evaluate(lambda count, labels: images[:count].astype(np.float32) / 127.5 - 1)
    evaluate_cpu = time.process_time() - start
    info = evaluator.encoder.info
    print(evaluation.report())
    print(f'\n{FLAGS.data}: {info["train_examples"]} images of {"x".join(map(str, info["image_shape"]))}, '
          f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}')
    print(f'- encoder training: {info["train_steps"]} steps, {info["train_cpu_seconds"]:.0f} CPU s '
          f'({info["train_seconds"]:.0f} s wall)')
    print(f'- Evaluator set-up, training included: {setup:.0f} CPU s; without it: '
          f'{setup - info["train_cpu_seconds"]:.0f} CPU s')
    print(f'- one evaluation of {evaluator.num_samples} images: {evaluate_cpu:.1f} CPU s')


if __name__ == '__main__':
    app.run(main)
