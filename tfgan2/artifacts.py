"""Files a training run leaves for people: image grids, the GIF, the loss history and its plot.

Every file is written to a temporary sibling and renamed into place, so a reader (or a run
killed mid-write) never sees half a file.
"""

import contextlib
import csv
import glob
import os
import tempfile

import imageio.v3 as iio
import matplotlib
import numpy as np

matplotlib.use('Agg')  # No display on servers; set before pyplot is imported.
from matplotlib import pyplot as plt  # noqa: E402


def publishable(path):
    """Gives a temp file or folder (mkstemp/mkdtemp make them owner-only) the permissions a
    normally created one would have, so other users and containers can read what is published."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path` (same extension); renames it to `path` on success."""
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix=os.path.splitext(name)[1], dir=directory)
    os.close(fd)
    publishable(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def to_uint8(images):
    """[-1, 1] floats -> uint8 pixels."""
    return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, rows, padding=2):
    """Tiles [N, H, W, C] images in [-1, 1] into one uint8 [rows*(H+p)+p, cols*(W+p)+p, C] image,
    row-major: image i lands in row i // cols."""
    images = to_uint8(images)
    count, height, width, channels = images.shape
    cols = -(-count // rows)
    grid = np.full((rows * (height + padding) + padding, cols * (width + padding) + padding, channels),
                   255, np.uint8)
    for i, image in enumerate(images):
        top = padding + (i // cols) * (height + padding)
        left = padding + (i % cols) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def save_png(path, image):
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, image[..., 0] if image.shape[-1] == 1 else image)


def write_gif(frame_paths, path, seconds_per_frame=0.5):
    """Writes the PNGs in `frame_paths`, in order, as one looping GIF."""
    frames = [iio.imread(p) for p in frame_paths]
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, np.stack(frames), duration=int(seconds_per_frame * 1000), loop=0)


def epoch_grid_paths(image_dir):
    return sorted(glob.glob(os.path.join(image_dir, 'epoch_*.png')))


def write_history(path, rows):
    """Writes per-epoch records as CSV; a column missing from some rows (e.g. a figure measured
    only every few epochs) is left empty there."""
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def read_history(path):
    """Per-epoch records from `write_history`, numbers as floats, empty cells left out; [] when
    there is no file."""
    if not os.path.exists(path):
        return []
    with open(path, newline='') as f:
        return [{k: float(v) for k, v in row.items() if v != ''} for row in csv.DictReader(f)]


# History columns named eval_<figure> get a panel of their own in the plot; an eval_real_<figure>
# column is drawn dashed in that panel as the real-data reference.
METRIC_PREFIX = 'eval_'
REFERENCE_PREFIX = 'eval_real_'


def _plot_column(ax, rows, key, **style):
    points = [(row['epoch'], row[key]) for row in rows if key in row]
    ax.plot(*zip(*points), **{'marker': 'o', 'label': key, **style})


def plot_history(rows, path):
    """Plots every loss column against the epoch in one panel, and each quality figure
    (`eval_*` columns) in a panel of its own below it."""
    keys = list(dict.fromkeys(key for row in rows for key in row))
    figures = [k for k in keys if k.startswith(METRIC_PREFIX) and not k.startswith(REFERENCE_PREFIX)]
    fig, axes = plt.subplots(1 + len(figures), 1, figsize=(7, 4 + 2.5 * len(figures)), sharex=True,
                             squeeze=False)
    for key in keys:
        if key.endswith('loss'):
            _plot_column(axes[0, 0], rows, key)
    axes[0, 0].set_ylabel('mean loss')
    for ax, key in zip(axes[1:, 0], figures):
        _plot_column(ax, rows, key)
        reference = REFERENCE_PREFIX + key[len(METRIC_PREFIX):]
        if reference in keys:
            _plot_column(ax, rows, reference, marker='', linestyle='--', color='gray')
        ax.set_ylabel(key[len(METRIC_PREFIX):].replace('_', ' '), fontsize=8)
    for ax in axes[:, 0]:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel('epoch')
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
