#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite, then lint; arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python -m pytest "$@"
.venv/bin/ruff check .
