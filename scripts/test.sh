#!/usr/bin/env bash
# Sets up (see setup.sh), checks style (ruff, configured in pyproject.toml) and runs the whole
# test suite; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check tfgan2 tests benchmarks serving
exec .venv/bin/python -m pytest -q tests "$@"
