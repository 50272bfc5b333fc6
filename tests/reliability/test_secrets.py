"""A recognisable fake key through every path: page, config JSON, API description, logs, store, CSV, errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from gradio_client import Client

from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from tests.reliability.conftest import record_figure

SECRET = "sk-canaryKEY-4f9a2c7e1b3d5f6a8c0e"


def _echoing_scripts() -> dict[str, Script]:
    """Servers that echo the key back, as some do in their error messages."""
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error"}}
    return {
        "ok": Script(),
        "auth": Script(status=401, error_body=echo),
        "bad": Script(status=400, error_body=echo),
        "boom": Script(status=500, error_body=echo),
    }


@pytest.mark.slow  # it also runs the command line in a subprocess
def test_no_secret_anywhere_in_the_page_logs_store_or_exports(serve_app, monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("CANARY_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with (
        OpenAIServer(_echoing_scripts()) as server,
        OllamaServer({"ok": Script(), "bad": Script(status=500, error_body={"error": SECRET})}) as ollama,
    ):
        common = {"backend": "openai", "base_url": server.url + "/v1", "api_key_env": "CANARY_KEY", "max_retries": 0}
        app = serve_app([
            {"name": "ok", "model": "ok", **common},
            {"name": "auth", "model": "auth", **common},
            {"name": "bad", "model": "bad", **common},
            {"name": "boom", "model": "boom", **common},
            {"name": "ollama", "backend": "ollama", "model": "bad", "host": ollama.url},
        ])  # fmt: skip
        client = Client(app.url, verbose=False)
        client.predict("hi", False, *app.settings_values(), api_name="/send")
        chats = [client.predict(api_name=f"/pane_{i}") for i in range(5)]
        table, summary, _plot, session_csv, _all_csv_button = client.predict(api_name="/results")
        whole_log = client.predict(api_name="/csv_all")
        pages = {
            path: urllib.request.urlopen(app.url + path, timeout=10).read().decode()
            for path in ("/", "/config", "/gradio_api/info")
        }
        sent_keys = [request for request in server.requests]
    exported = [Path(path).read_text(encoding="utf-8") for path in (session_csv["value"], whole_log)]
    stored = b"".join(p.read_bytes() for p in app.store.path.parent.glob(app.store.path.name + "*")).decode("utf-8", "replace")
    cli = _cli_run(tmp_path)
    places = {
        **{f"page {path}": text for path, text in pages.items()},
        "pane chats": repr(chats),
        "results table": repr(table) + repr(summary),
        "CSV exports": "".join(exported),
        "SQLite store": stored,
        "logs": caplog.text,
        "error messages": " ".join(r["error_message"] or "" for r in app.store.rows()),
        "CLI output and CSV": cli,
    }
    occurrences = {place: text.count(SECRET) + text.count(SECRET[3:20]) for place, text in places.items()}
    record_figure("secrets", "occurrences", occurrences)
    assert sum(occurrences.values()) == 0, occurrences
    assert {r["error_type"] for r in app.store.rows() if r["status"] == "error"} == {"auth", "bad_request", "server"}
    assert "[redacted]" in places["error messages"]
    assert sent_keys, "the key was really used"


def _cli_run(tmp_path) -> str:
    with OpenAIServer(_echoing_scripts()) as server:
        config = tmp_path / "cli.yaml"
        common = {"backend": "openai", "base_url": server.url + "/v1", "api_key_env": "CANARY_KEY", "max_retries": 0}
        panes = [{"name": name, "model": name, **common} for name in ("ok", "bad")]
        config.write_text(yaml.safe_dump({"store": str(tmp_path / "cli.sqlite"), "panes": panes}))
        command = [sys.executable, "-m", "playground", "compare", "--config", str(config), "--prompt", "hi"]
        command += ["--csv", str(tmp_path / "cli.csv")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "CANARY_KEY": SECRET})
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr + (tmp_path / "cli.csv").read_text(encoding="utf-8")


def test_a_key_written_into_a_config_is_refused(tmp_path):
    from playground.config import load_config
    from playground.errors import ConfigError

    path = tmp_path / "leaky.yaml"
    path.write_text(f"panes:\n  - {{name: a, backend: openai, model: m, preset: openai, api_key: {SECRET}}}\n")
    try:
        load_config(path)
        message = ""
    except ConfigError as exc:
        message = str(exc)
    record_figure("secrets", "key literal in config", {"refused": bool(message), "key_in_message": SECRET in message})
    assert "secrets are not accepted" in message and SECRET not in message
