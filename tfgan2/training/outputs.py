"""What a run leaves for people: preview grids after every epoch (always from the same noise),
the GIF of all epoch grids, the history table and its plot, and TensorBoard scalars and images."""

import numpy as np
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
        with storage.writing(self.run.logs_dir), self.writer.as_default(step=step):
            for key, value in metrics.items():
                tf.summary.scalar(f'train/{key}', value)
            tf.summary.scalar('train/images_per_second', images_per_second)

    def write_epoch(self, history, step):
        """Writes the grids of the epoch of `history[-1]`, the GIF, the history and its plot."""
        epoch = int(history[-1]['epoch'])
        grids = self.preview_grids()
        for name, grid in grids.items():
            artifacts.save_png(self.run.grid_path(epoch, name), grid)
        frames = [self.run.grid_path(e) for e in range(1, epoch + 1) if tf.io.gfile.exists(self.run.grid_path(e))]
        artifacts.write_gif(frames, self.run.gif_path)
        artifacts.write_history(self.run.history_path, history)
        artifacts.plot_history(history, self.run.plot_path)
        with storage.writing(self.run.logs_dir), self.writer.as_default(step=step):
            for key, value in history[-1].items():
                tf.summary.scalar(f'epoch/{key}', value)
            for name, grid in grids.items():
                tf.summary.image(f'preview/{name}', grid[np.newaxis], max_outputs=1)
            self.writer.flush()

    def close(self):
        with storage.writing(self.run.logs_dir):
            self.writer.close()
