#!/usr/bin/env bash
# Set up (first run only) and start the playground; arguments go to `python -m playground`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m playground "$@"
