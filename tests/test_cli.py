"""`python -m playground compare` end to end, in a subprocess, on the tiny model and a loopback Ollama."""

import os
import subprocess
import sys

import yaml

from playground.store import RunStore
from playground.tables import read_runs_csv
from playground.testing.loopback import OllamaServer, Script


def _compare(tmp_path, config: dict, *args: str) -> subprocess.CompletedProcess:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    command = [sys.executable, "-m", "playground", "compare", "--config", str(config_path), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DEEPSEEK_API_KEY": ""}
    return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)


def test_compare_writes_csv_store_and_summary(tmp_path, tiny_model_dir):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("明月几时有\n\nhello\n", encoding="utf-8")
    with OllamaServer({"qwen2.5:0.5b": Script(gap_s=0.001)}) as ollama:
        config = {
            "store": str(tmp_path / "runs.sqlite"),
            "panes": [
                {
                    "name": "local",
                    "backend": "transformers",
                    "model": str(tiny_model_dir),
                    "torch_threads": 1,
                    "params": {"max_tokens": 16},
                },
                {"name": "ollama", "backend": "ollama", "model": "qwen2.5:0.5b", "host": ollama.url},
                {"name": "deepseek", "backend": "openai", "preset": "deepseek", "model": "deepseek-chat"},
            ],
        }
        result = _compare(
            tmp_path,
            config,
            "--prompts",
            str(prompts),
            "--modes",
            "stream,non-stream",
            "--repeat",
            "2",
            "--csv",
            str(tmp_path / "runs.csv"),
        )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["pane", "mode", "n", "errors"]
    assert any(line.split()[:4] == ["local", "stream", "4", "0"] for line in lines)
    assert "deepseek: DEEPSEEK_API_KEY is not set" in result.stdout
    frame = read_runs_csv(tmp_path / "runs.csv")
    assert len(frame) == 2 * 2 * 2 * 3  # prompts × modes × repeats × panes
    assert len(RunStore(tmp_path / "runs.sqlite").rows()) == len(frame)
    local = frame[frame["pane"] == "local"]
    assert set(local["output_tokens"]) == {16} and set(local["token_source"]) == {"tokenizer"}
    assert local["warmup"].sum() == 1
    assert set(frame[frame["pane"] == "deepseek"]["status"]) == {"error"}
    order = frame[frame["pane"] == "ollama"].sort_values("started_at")[["repeat", "mode"]].values.tolist()
    assert order[:2] == [[0, "stream"], [0, "non-stream"]] and order[4:6] == [[1, "non-stream"], [1, "stream"]]


def test_bad_config_and_empty_prompt_give_one_clear_line(tmp_path):
    bad = _compare(tmp_path, {"panes": [{"name": "a", "backend": "nope", "model": "m"}]}, "--prompt", "hi")
    assert bad.returncode == 2 and "unknown backend 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    empty = _compare(tmp_path, {"panes": [{"name": "a", "backend": "ollama", "model": "m"}]}, "--prompt", "  ")
    assert empty.returncode == 2 and "no prompt given" in empty.stderr


def test_help_lists_the_subcommands():
    result = subprocess.run([sys.executable, "-m", "playground", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "compare" in result.stdout
