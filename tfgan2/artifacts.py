"""Files a run leaves for people: image grids, the GIF of the run, the history table and its
plot. Each is rendered in memory and written whole (`storage.write_atomically`), so a reader,
or a run killed mid-write, never sees half a file, on local disks and object stores alike."""

import csv
import io
import logging
import math

import imageio.v3 as iio
import numpy as np

from tfgan2 import errors, gif, storage

logger = logging.getLogger(__name__)

# A grid's tiles are scaled up by a whole factor until the grid is at least this wide.
MIN_GRID_WIDTH = 512


def to_uint8(images):
    """[-1, 1] floats -> uint8 pixels."""
    return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, rows, padding=2, min_width=MIN_GRID_WIDTH):
    """Tiles [N, H, W, C] images in [-1, 1] into one uint8 [height, width, C] image, row-major
    (image i lands in row i // columns), each tile scaled up by the smallest whole factor that
    makes the grid at least `min_width` pixels wide."""
    images = to_uint8(images)
    count, height, width, channels = images.shape
    columns = -(-count // rows)
    scale = max(1, math.ceil((min_width - padding * (columns + 1)) / (columns * width)))
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    height, width = height * scale, width * scale
    grid = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
                   255, np.uint8)
    for i, image in enumerate(images):
        top = padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def png_bytes(image):
    """A uint8 [H, W, C] image encoded as PNG."""
    return iio.imwrite('<bytes>', image[..., 0] if image.shape[-1] == 1 else image, extension='.png')


def save_png(path, image):
    storage.write_atomically(path, png_bytes(image))


def write_gif_frame(path, image, index, frame_png, seconds_per_frame=0.5):
    """Makes the looping GIF at `path` hold frames 0..index-1 followed by `image` (uint8
    [H, W, C]). The frames it already holds are copied, not decoded again; frames past `index`
    (a run resumed before its last epoch) are dropped; frames it lacks are read from the PNG at
    `frame_png(i)` where there is one."""
    head, frames = None, []
    if storage.exists(path):
        try:
            head, frames = gif.split(storage.read_bytes(path))
        except gif.NotAGifError as e:
            logger.warning('%s is not a readable GIF (%s); writing it again from the grids.', path, e)
    frames = frames[:index]
    for i in range(len(frames), index):
        if storage.exists(frame_png(i)):
            frames.append(gif.frame(iio.imread(storage.read_bytes(frame_png(i)), extension='.png'), seconds_per_frame))
    frames.append(gif.frame(image, seconds_per_frame))
    storage.write_atomically(path, gif.join(head or gif.head(image.shape[1], image.shape[0]), frames))


def write_history(path, rows):
    """Writes per-epoch records as CSV; a column missing from some rows (e.g. a figure measured
    only every few epochs) is left empty there."""
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fieldnames, lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    storage.write_atomically(path, text.getvalue())


# A history of a million epochs stays below this; a larger file is damaged.
MAX_HISTORY_BYTES = 64 << 20


def read_history(path):
    """Per-epoch records from `write_history`, numbers as ints or floats as written (so a
    rewritten file keeps `epoch` and `step` integral), empty cells left out; [] when there is
    no file. A file that is not such a table is a `RunError` naming it."""
    if not storage.exists(path):
        return []
    try:
        reader = csv.DictReader(io.StringIO(storage.read_text(path, MAX_HISTORY_BYTES)))
        if not {'epoch', 'step'} <= set(reader.fieldnames or ()):
            raise ValueError('its first line does not name the epoch and step columns')
        history = [{key: _number(value) for key, value in row.items() if value != ''} for row in reader]
        epochs = [row['epoch'] for row in history]
        if any(not isinstance(row.get(key), int) for row in history for key in ('epoch', 'step')):
            raise ValueError('every row needs a whole epoch and step')
        if any(epoch < 1 for epoch in epochs) or epochs != sorted(set(epochs)):
            raise ValueError(f'its epochs are {epochs[:5]}..., not counting up from 1')
    except (ValueError, TypeError, csv.Error) as e:  # UnicodeDecodeError is a ValueError
        raise errors.RunError(f'{path} is damaged ({storage.error_line(e)}); restore it from a copy, or move it '
                              f'away to start a new history from the next epoch.') from None
    return history


def _number(text):
    """A cell written by `write_history`: an int, else a float; anything else is damage."""
    if not isinstance(text, str):  # a row with more or fewer cells than the header
        raise ValueError('a row\'s cells do not match the header')
    try:
        return int(text)
    except ValueError:
        return float(text)


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
    # matplotlib's object API renders without pyplot, so no plotting backend is chosen or changed.
    from matplotlib.figure import Figure
    keys = list(dict.fromkeys(key for row in rows for key in row))
    figures = [k for k in keys if k.startswith(METRIC_PREFIX) and not k.startswith(REFERENCE_PREFIX)]
    fig = Figure(figsize=(7, 4 + 2.5 * len(figures)))
    axes = fig.subplots(1 + len(figures), 1, sharex=True, squeeze=False)[:, 0]
    for key in keys:
        if key.endswith('loss'):
            _plot_column(axes[0], rows, key)
    axes[0].set_ylabel('mean loss')
    for ax, key in zip(axes[1:], figures):
        _plot_column(ax, rows, key)
        reference = REFERENCE_PREFIX + key[len(METRIC_PREFIX):]
        if reference in keys:
            _plot_column(ax, rows, reference, marker='', linestyle='--', color='gray')
        ax.set_ylabel(key[len(METRIC_PREFIX):].replace('_', ' '), fontsize=8)
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel('epoch')
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format='png')
    storage.write_atomically(path, image.getvalue())
