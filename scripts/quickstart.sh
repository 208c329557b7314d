#!/usr/bin/env bash
# The main job: set up, then train the default GAN (selfcond, unconditional) on Fashion-MNIST
# for a few minutes.
# Writes runs/quickstart/ (grids, GIF, losses, TensorBoard logs, checkpoints) and a SavedModel
# under exports/. Extra arguments go to tfgan2-train (e.g. --model=cgan). Rerun to resume.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/tfgan2-train --model_dir=runs/quickstart --epochs=6 --export_dir=exports "$@"
