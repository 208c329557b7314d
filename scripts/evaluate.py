"""Evaluates a trained generator (same as `tfgan2-evaluate`); see tfgan2/cli/evaluate.py."""

from tfgan2.cli.evaluate import run

if __name__ == '__main__':
    run()
