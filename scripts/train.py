"""Trains a GAN (same as the `tfgan2-train` command); see tfgan2/cli/train.py for the flags."""

from tfgan2.cli.train import run

if __name__ == '__main__':
    run()
