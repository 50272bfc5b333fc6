#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite, browser tests included, then lint.
# Arguments go to pytest, e.g. scripts/test.sh -k metrics
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here),
# with fonts so that screenshots show CJK and emoji text. The run log's tests start a real
# PostgreSQL (initdb + pg_ctl from Debian's postgresql, run as its `postgres` user under root).
# grep reads all of fc-list's output: with -q it could exit first, fc-list then dies of SIGPIPE and,
# under pipefail, a font that is there counted as missing (1 check in 5 here, each an apt-get run).
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -i "Noto Color Emoji" >/dev/null || need+=(fonts-noto-color-emoji)
command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "The browser and run log tests need Debian's ${need[*]} (apt-get not found); install them and retry." >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "Installing ${need[*]} with apt-get…"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python -m pytest "$@"
.venv/bin/ruff check .
