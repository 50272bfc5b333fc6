#!/usr/bin/env bash
# Create .venv and install the project's requirements (idempotent; re-installs when they change).
# Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=requirements.txt
[ "${1:-}" = "--dev" ] && requirements=requirements-dev.txt

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin=$candidate; break; fi
  done
fi
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
  echo "Python 3.11 or newer is needed (found $("$python_bin" --version 2>&1))." >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$requirements" .txt)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if grep -q '^llama-cpp-python' "$requirements" && ! .venv/bin/python -m pip show -q llama-cpp-python >/dev/null 2>&1; then
    echo "building llama-cpp-python from source, ~10 min on 2 cores, cached afterwards"
  fi
  # Read by llama-cpp-python's build only: portable x86-64 code (no -march=native, so a cached
  # wheel runs on any machine), no llama.cpp tests or examples, two compile jobs.
  CMAKE_BUILD_PARALLEL_LEVEL=2 \
    CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF" \
    .venv/bin/python -m pip install --quiet -r "$requirements"
  touch "$stamp"
fi
