"""What a run leaves for people: preview grids after every epoch (always from the same noise),
the GIF of all epoch grids, the history table and its plot, and TensorBoard scalars and images.

TensorBoard gets classic `Summary` values (`simple_value` scalars, PNG images), which every
reader of event files sees: TensorBoard itself, `EventAccumulator.Scalars` and `.Images`, and
tools built on them (`tf.summary.scalar` writes tensors, which `EventAccumulator.Scalars` misses)."""

import tensorflow as tf

from tfgan2 import artifacts, storage


class RunOutputs:
    """Writes the outputs of `gan`'s run into `run` (a `run.RunDir`); previews come from the
    averaged generator and the fixed `preview_noise`."""

    def __init__(self, gan, run, preview_noise):
        self.gan, self.run, self.preview_noise = gan, run, preview_noise
        with storage.writing(run.logs_dir):  # A full disk: one line naming the folder.
            self.writer = tf.summary.create_file_writer(run.logs_dir)

    def preview_grids(self):
        """{grid name: uint8 image}, the main grid ('epoch') first."""
        return {name: artifacts.image_grid(self.gan.generate(latent).numpy(), rows)
                for name, (latent, rows) in self.gan.preview_latents(self.preview_noise).items()}

    def log_step(self, step, metrics, images_per_second):
        self._write(step, [_scalar(f'train/{key}', value) for key, value in
                           {**metrics, 'images_per_second': images_per_second}.items()])

    def write_epoch(self, history, step):
        """Writes the grids of the epoch of `history[-1]`, the GIF, the history and its plot."""
        epoch = int(history[-1]['epoch'])
        grids = self.preview_grids()
        for name, grid in grids.items():
            artifacts.save_png(self.run.grid_path(epoch, name), grid)
        artifacts.write_gif_frame(self.run.gif_path, grids['epoch'], epoch - 1, lambda i: self.run.grid_path(i + 1))
        artifacts.write_history(self.run.history_path, history)
        artifacts.plot_history(history, self.run.plot_path)
        self._write(step, [_scalar(f'epoch/{key}', value) for key, value in history[-1].items()]
                    + [_image(f'preview/{name}', grid) for name, grid in grids.items()], flush=True)

    def _write(self, step, values, flush=False):
        """Writes summary `values` at `step`; a full disk or a missing folder is one line naming
        the logs folder."""
        with storage.writing(self.run.logs_dir), self.writer.as_default(step=step):
            tf.summary.experimental.write_raw_pb(
                tf.compat.v1.Summary(value=values).SerializeToString())
            if flush:
                self.writer.flush()

    def close(self):
        with storage.writing(self.run.logs_dir):
            self.writer.close()


def _scalar(tag, value):
    return tf.compat.v1.Summary.Value(tag=tag, simple_value=float(value))


def _image(tag, image):
    """A uint8 [H, W, C] image as a PNG summary value."""
    height, width, channels = image.shape
    return tf.compat.v1.Summary.Value(tag=tag, image=tf.compat.v1.Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=artifacts.png_bytes(image)))
