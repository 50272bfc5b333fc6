#!/usr/bin/env bash
# Set up (first run only) and run the benchmarks; each prints a table and ends with a RESULT line.
# Usage: scripts/bench.sh [fanout|ttft_fidelity|overhead|own_cost|local|ui|gpu|startup|served ...] [-- --repeats N | --quick]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
names=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do names+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#names[@]} -gt 0 ] || names=(fanout ttft_fidelity overhead own_cost local ui gpu startup served)
for name in "${names[@]}"; do
  echo "== $name"
  .venv/bin/python -m "benchmarks.$name" "$@"
done
