"""kill -9 while runs stream: every run that had ended is in the log, and the file is intact."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from playground.store import RunStore
from tests.reliability.conftest import record_figure

pytestmark = pytest.mark.slow

WRITER = """
import sys, time
from playground.config import parse_config
from playground.panes import build_panes
from playground.runner import FanOutRunner, PaneJob
from playground.store import RunStore
from playground.testing.loopback import OpenAIServer, Script

store = RunStore(sys.argv[1])
scripts = {"quick": Script(gap_s=0.001), "slow": Script(gap_s=0.5, tokens=tuple(f"t{i} " for i in range(100)))}
with OpenAIServer(scripts) as server:
    panes = build_panes(parse_config({"panes": [
        {"name": "quick", "backend": "openai", "model": "quick", "base_url": server.url + "/v1"},
        {"name": "slow", "backend": "openai", "model": "slow", "base_url": server.url + "/v1"},
    ]}))
    runner = FanOutRunner(store)
    slow = runner.start([PaneJob(panes[1], panes[1].build_request("long"))])
    for index in range(1000):
        runner.run([PaneJob(panes[0], panes[0].build_request(f"q{index}"))])
        print("ended", index + 1, flush=True)
"""


def test_kill_9_mid_stream_loses_no_ended_run(tmp_path):
    path = tmp_path / "runs.sqlite"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    ended = 0
    deadline = time.monotonic() + 60
    while ended < 25 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("ended"):
            ended = int(line.split()[1])
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert ended >= 25, "the writer did not get going"

    rows = RunStore(path).rows()
    quick = [r for r in rows if r["pane"] == "quick"]
    with sqlite3.connect(path) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    record_figure("durability", "kill -9", {"runs_reported_ended": ended, "runs_in_log": len(quick), "integrity": integrity})
    # Every run the writer reported as ended is there (one more may have ended before the kill landed).
    assert len(quick) >= ended
    assert all(r["status"] == "ok" for r in quick)
    assert not any(r["pane"] == "slow" for r in rows), "the run in flight was never logged as ended"
    assert integrity == "ok"
