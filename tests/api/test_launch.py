"""The `serve` command and the in-process server used by tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import openai
import pytest
import yaml

from playground.api.launch import ApiServer, ServeApiOptions, serve_api
from playground.cli import main
from playground.errors import InputError
from playground.panes import BackendContext
from playground.runner import FanOutRunner
from playground.store import RunStore
from playground.testing.loopback import free_port
from tests.api.conftest import local_pane
from tests.conftest import _wait_healthy
from tests.support import wait_until


def _config(tmp_path, tiny_model_dir) -> str:
    path = tmp_path / "serve.yaml"
    pane = {"name": "local", "backend": "transformers", "model": str(tiny_model_dir), "torch_threads": 1,
            "params": {"temperature": 0, "max_tokens": 5}}  # fmt: skip
    path.write_text(yaml.safe_dump({"store": str(tmp_path / "runs.sqlite"), "panes": [pane]}))
    return str(path)


def test_the_in_process_server_stops_by_itself_after_its_lifetime(tiny_model_dir, tmp_path):
    pane = local_pane(tiny_model_dir, BackendContext())
    server = ApiServer(pane, FanOutRunner(None), max_lifetime_s=0.5).__enter__()
    assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10).status_code == 200
    wait_until(lambda: not server._thread.is_alive(), timeout_s=20, what="the server to stop by itself")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=2)


def test_an_unknown_pane_or_an_unset_key_variable_is_one_clear_line(tiny_model_dir, tmp_path, capsys, monkeypatch):
    config = _config(tmp_path, tiny_model_dir)
    assert main(["serve", "--config", config, "--pane", "nope"]) == 2
    assert "--pane: no pane named 'nope'" in capsys.readouterr().err
    monkeypatch.delenv("PLAYGROUND_TEST_UNSET_KEY", raising=False)
    assert main(["serve", "--config", config, "--pane", "local", "--api-key-env", "PLAYGROUND_TEST_UNSET_KEY"]) == 2
    err = capsys.readouterr().err
    assert "PLAYGROUND_TEST_UNSET_KEY: that environment variable is not set" in err and "Traceback" not in err
    with pytest.raises(InputError, match="--max-queue"):
        serve_api(ServeApiOptions(config=config, pane="local", max_queue=-1))


def test_serve_warns_at_start_up_that_its_pane_is_not_ready_and_serves_all_the_same(tmp_path, capsys, monkeypatch):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    monkeypatch.delenv("PLAYGROUND_TEST_UNSET_KEY", raising=False)
    pane = {"name": "remote", "backend": "openai", "model": "m", "base_url": f"http://127.0.0.1:{free_port()}/v1",
            "api_key_env": "PLAYGROUND_TEST_UNSET_KEY"}  # fmt: skip
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump({"store": str(tmp_path / "runs.sqlite"), "panes": [pane]}))
    assert serve_api(ServeApiOptions(config=config, pane="remote")) == 0
    warning = "warning: pane 'remote' is not ready: PLAYGROUND_TEST_UNSET_KEY is not set; serving anyway, /health answers 503"
    assert warning in capsys.readouterr().err
    assert len(served) == 1


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_serve_command_serves_with_a_key_logs_every_run_as_api_and_never_prints_the_key(tiny_model_dir, tmp_path, stop):
    key = "sk-test-serve-key-0123456789"
    port = free_port()
    command = [sys.executable, "-m", "playground", "serve", "--config", _config(tmp_path, tiny_model_dir),
               "--pane", "local", "--port", str(port), "--api-key-env", "PLAYGROUND_SERVE_KEY"]  # fmt: skip
    env = {**os.environ, "PLAYGROUND_SERVE_KEY": key, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", process, timeout_s=90)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=60)
        answer = client.chat.completions.create(model="local", messages=[{"role": "user", "content": "hi"}])
        assert answer.usage.completion_tokens == 5
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0).models.list()
        # A stream still running when the server is stopped is cut, and its run logged before the process ends.
        endless = client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": "go"}], stream=True, max_tokens=100_000
        )
        next(iter(endless))
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    printed = log.read_text()
    assert process.returncode == 0, printed
    assert key not in printed and "Serving 'local' at http://127.0.0.1:" in printed and "401" in printed
    answered, cut = RunStore(tmp_path / "runs.sqlite").rows(session_id="api")
    assert (answered["status"], answered["pane"], answered["output_tokens"]) == ("ok", "local", 5)
    assert (cut["status"], cut["mode"]) == ("cancelled", "stream") and "every run is in the run log" in printed
