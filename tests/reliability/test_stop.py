"""Stop during each backend's stream: the run is logged cancelled; the local model stops within a step."""

from __future__ import annotations

import contextlib
import time

import pytest

from playground.runner import FanOutRunner, PaneJob
from playground.store import RunStore
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from tests.reliability.conftest import record_figure
from tests.support import DecodeSteps, wait_until

SLOW = Script(first_token_delay_s=0.05, gap_s=0.05, tokens=tuple(f"tok{i} " for i in range(400)))


@pytest.mark.parametrize("kind", ["openai", "ollama", "transformers"])
def test_stop_mid_stream_logs_a_cancelled_run(kind, make_pane, tiny_model_dir, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"slow": SLOW}) as openai_server, OllamaServer({"slow": SLOW}) as ollama:
        settings = {
            "openai": {"backend": "openai", "model": "slow", "base_url": openai_server.url + "/v1"},
            "ollama": {"backend": "ollama", "model": "slow", "host": ollama.url},
            "transformers": {"backend": "transformers", "model": str(tiny_model_dir), "torch_threads": 1,
                             "params": {"temperature": 0, "max_tokens": 100_000}},
        }[kind]  # fmt: skip
        pane = make_pane(name=kind, **settings)
        pane.backend.prepare()
        steps = DecodeSteps(pane.backend) if kind == "transformers" else None
        with steps or contextlib.nullcontext():
            batch = FanOutRunner(store).start([PaneJob(pane, pane.build_request("go"))])
            handle = batch.handles[0]
            wait_until(lambda: len(handle.snapshot().text) >= 20, what="20 characters of answer")
            steps_at_stop = steps.count if steps else None
            stopped = time.perf_counter()
            batch.cancel()
            (record,) = batch.wait(timeout=10)
            latency = time.perf_counter() - stopped
            # Let a step still in progress finish before counting what followed the stop.
            time.sleep(0.2 if steps else 0)
            extra_steps = steps.count - steps_at_stop if steps else None
    record_figure(
        "stop", kind, {"status": record.status, "stop_latency_s": round(latency, 3), "decode_steps_after_stop": extra_steps}
    )
    assert record.status == "cancelled" and record.partial
    assert store.rows()[0]["status"] == "cancelled"
    # Expected within one chunk gap (0.05 s); ten times the runner's 0.5 s grace period bounds it on a busy machine.
    assert latency < 10 * 0.5
    if kind == "transformers":
        # Counted from when Stop was pressed: the step in progress, plus at most one more.
        assert extra_steps is not None and extra_steps <= 2

