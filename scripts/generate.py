"""Draws images from an exported SavedModel (same as `tfgan2-generate`); see tfgan2/cli/generate.py."""

from tfgan2.cli.generate import run

if __name__ == '__main__':
    run()
