#!/usr/bin/env bash
# Sets up (see setup.sh), checks style (ruff, configured in pyproject.toml) and runs the whole
# test suite, one worker per core up to 4 (much of it is single-threaded: subprocesses loading TensorFlow,
# tiny graphs; two workers on two cores take ~60% of the serial time); extra arguments go to pytest
# (`-n 0`: serial).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check tfgan2 tests benchmarks serving
exec .venv/bin/python -m pytest -q -n auto --maxprocesses=4 --dist=loadfile tests "$@"
