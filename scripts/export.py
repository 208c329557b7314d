"""Exports a trained generator for TF Serving (same as `tfgan2-export`); see tfgan2/cli/export.py."""

from tfgan2.cli.export import run

if __name__ == '__main__':
    run()
