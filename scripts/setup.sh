#!/usr/bin/env bash
# Prepares a fresh Debian-like machine: offline Fashion-MNIST (Debian package) when possible,
# and a virtual environment in .venv with tfgan2 and its test tools. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  echo "Installing Debian's dataset-fashion-mnist (offline training data)..."
  if ! { $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 ||
         { $SUDO apt-get update -q >/dev/null 2>&1 &&
           $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }; }; then
    echo "Could not install dataset-fashion-mnist; training will use TFDS (needs internet) or --data_dir."
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'  # the test extra brings TensorFlow
