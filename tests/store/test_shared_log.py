"""Two playground processes writing one PostgreSQL run log at once, as a team's replicas do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground.store import RunStore
from playground.tables import read_runs_csv
from playground.ui.results import Results
from tests.support import wait_until

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
THREADS, RUNS_PER_THREAD = 4, 50

# One app process: its own RunStore (own pool), several threads each writing runs with their
# timelines, two sessions per process; it prints the run ids it wrote, by session.
WRITER = """
import datetime, json, sys, threading, time, uuid
from pathlib import Path
from playground.store import RunStore
from tests.fakes import record_with

url, name, folder, threads, per_thread = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
store = RunStore(url)
(folder / f"{name}.ready").touch()
deadline = time.monotonic() + 60
while not (folder / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.01)
written = {}
lock = threading.Lock()

def write(index):
    session = f"{name}-session-{index % 2}"
    for _ in range(per_thread):
        run_id = uuid.uuid4().hex
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
        store.add(record_with(run_id=run_id, session_id=session, pane=name, started_at=started), [0.01, 0.02])
        with lock:
            written.setdefault(session, []).append(run_id)

workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
store.close()
print(json.dumps(written))
"""


def _start_writer(url: str, name: str, folder: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", WRITER, url, name, str(folder), str(THREADS), str(RUNS_PER_THREAD)]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_writing_one_postgres_log_lose_nothing_and_keep_sessions_apart(postgres_url, tmp_path, record_property):
    writers = {name: _start_writer(postgres_url, name, tmp_path) for name in ("alpha", "beta")}
    try:
        wait_until(lambda: all((tmp_path / f"{n}.ready").exists() for n in writers), timeout_s=120, what="both writers ready")
        (tmp_path / "go").touch()
        outputs = {name: process.communicate(timeout=240) for name, process in writers.items()}
    finally:
        for process in writers.values():
            if process.poll() is None:
                process.kill()
    for name, (_, stderr) in outputs.items():
        assert writers[name].returncode == 0, stderr
    written: dict[str, list[str]] = {}
    for stdout, _ in outputs.values():
        written.update(json.loads(stdout))
    all_written = [run_id for ids in written.values() for run_id in ids]

    store = RunStore(postgres_url)
    rows = store.rows()
    read_ids = [row["run_id"] for row in rows]
    expected = 2 * THREADS * RUNS_PER_THREAD
    record_property("rows_written", len(all_written))
    record_property("rows_read", len(rows))
    print(f"two writers: {len(all_written)} rows written, {len(rows)} read, {len(set(read_ids))} distinct run ids")
    assert len(all_written) == expected and store.count() == len(rows) == expected
    assert len(set(read_ids)) == len(read_ids) and set(read_ids) == set(all_written)
    assert len(store.timelines(read_ids)) == expected

    # The writes overlapped: each writer's first run started before the other's last.
    started = {name: sorted(r["started_at"] for r in rows if r["pane"] == name) for name in writers}
    assert started["alpha"][0] < started["beta"][-1] and started["beta"][0] < started["alpha"][-1]

    results = Results(store, tmp_path / "csv")
    for session, ids in written.items():
        mine = results.runs(session)
        assert sorted(mine["run_id"]) == sorted(ids) and set(mine["session_id"]) == {session}
        assert str(mine["warmup"].dtype) == "boolean" and str(mine["turn"].dtype) == "Int64"
        assert list(mine["started_at"]) == sorted(mine["started_at"])
    whole = read_runs_csv(results.csv(None))
    assert len(whole) == expected and set(whole["session_id"]) == set(written)
