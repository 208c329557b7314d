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


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path` (same extension); renames it to `path` on success."""
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix=os.path.splitext(name)[1], dir=directory)
    os.close(fd)
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
    """Writes per-epoch records (dicts with the same keys) as CSV."""
    with atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_history(path):
    """Per-epoch records from `write_history`, numbers as floats; [] when there is no file."""
    if not os.path.exists(path):
        return []
    with open(path, newline='') as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def plot_history(rows, path):
    """Plots every loss column of the history against the epoch."""
    epochs = [row['epoch'] for row in rows]
    keys = [k for k in rows[0] if k.endswith('loss')]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in keys:
        ax.plot(epochs, [row[key] for row in rows], marker='o', label=key)
    ax.set_xlabel('epoch')
    ax.set_ylabel('mean loss')
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
