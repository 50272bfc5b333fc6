"""Startup: `python -m playground` until the page answers HTTP 200, and what it imports.

Two configs: remote panes only (OpenAI-compatible + Ollama), and the same plus a local
transformers pane (the tiny model). The page serves before its panes are prepared (clients
opened, models loaded: playground.preparation), so neither torch, transformers nor the openai
client may be imported by then; once prepared, a local pane has imported torch. Medians over
repeats, the two configs alternating.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.common import machine, median, parser, result, table
from playground.testing.loopback import free_port
from playground.testing.tiny_model import build_tiny_model

REMOTE_PANES = [
    {"name": "cloud", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
    {"name": "ollama", "backend": "ollama", "model": "m", "host": "http://127.0.0.1:9"},
]
LIBRARIES = ("torch", "transformers", "openai")
IMPORT_CHECK = (
    "import json, sys; from playground.config import load_config; from playground.store import RunStore;"
    "from playground.ui.app import build_controller, build_page;"
    "controller = build_controller(load_config(sys.argv[1]), RunStore(sys.argv[2])); build_page(controller);"
    f"serving = [m for m in {LIBRARIES!r} if m in sys.modules];"
    "controller.start_preparing(); controller.runner.preparation.wait_all();"
    f"print(json.dumps({{'serving': serving, 'prepared': [m for m in {LIBRARIES!r} if m in sys.modules]}}))"
)


def time_to_200(config: Path) -> float:
    port = free_port()
    started = time.perf_counter()
    command = [sys.executable, "-m", "playground", "--config", str(config), "--port", str(port)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = subprocess.Popen(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}, **quiet)
    try:
        while True:
            assert process.poll() is None, "the playground exited"
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=15)


def imports(config: Path, store: Path) -> dict[str, list[str]]:
    output = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK, str(config), str(store)], capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    repeats = 2 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as folder:
        tiny = build_tiny_model(Path(folder) / "tiny")
        configs = {}
        for label, panes in (
            ("remote panes only", REMOTE_PANES),
            ("with a local pane", [*REMOTE_PANES, {"name": "local", "backend": "transformers", "model": str(tiny)}]),
        ):
            path = Path(folder) / f"{len(configs)}.yaml"
            path.write_text(json.dumps({"store": f"{folder}/runs.sqlite", "panes": panes}))
            configs[label] = path
        times: dict[str, list[float]] = {label: [] for label in configs}
        for repeat in range(repeats):
            for label in list(configs) if repeat % 2 == 0 else list(configs)[::-1]:
                times[label].append(time_to_200(configs[label]))
        rows = []
        for label, path in configs.items():
            loaded = imports(path, Path(folder) / "check.sqlite")
            shown = [",".join(loaded[when]) or "none" for when in ("serving", "prepared")]
            rows.append([label, median(times[label]), min(times[label]), *shown])
    print(f"machine: {machine()}; medians of {repeats} starts")
    table(["config", "to_http_200_s", "fastest_s", "imported_when_serving", "imported_once_prepared"], rows)
    for label, _, _, serving, _ in rows:
        assert serving == "none", f"{label}: {serving} imported before the page serves"
    assert rows[0][4] == "openai", "without a local pane only the openai client may be imported"
    assert rows[1][4] == ",".join(LIBRARIES), "a local pane, once prepared, has imported torch and transformers"
    result("startup_remote_only", rows[0][1], "s")


if __name__ == "__main__":
    main()
