"""The command line: `compare` end to end (tiny model, loopback Ollama), option parsing, tiny-model, README commands."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from playground.cli import bundled_configs, default_config, main, parse_args
from playground.config import load_config
from playground.store import RunStore
from playground.tables import read_runs_csv
from playground.testing.loopback import OllamaServer, Script


def _compare(tmp_path, config: dict, *args: str) -> subprocess.CompletedProcess:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    command = [sys.executable, "-m", "playground", "compare", "--config", str(config_path), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DEEPSEEK_API_KEY": ""}
    return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)


@pytest.mark.slow
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
    assert "deepseek (8 runs): DEEPSEEK_API_KEY is not set" in result.stdout
    frame = read_runs_csv(tmp_path / "runs.csv")
    assert len(frame) == 2 * 2 * 2 * 3  # prompts × modes × repeats × panes
    assert len(RunStore(tmp_path / "runs.sqlite").rows()) == len(frame)
    local = frame[frame["pane"] == "local"]
    assert set(local["output_tokens"]) == {16} and set(local["token_source"]) == {"tokenizer"}
    assert local["warmup"].sum() == 1
    assert set(frame[frame["pane"] == "deepseek"]["status"]) == {"error"}
    order = frame[frame["pane"] == "ollama"].sort_values("started_at")[["repeat", "mode"]].values.tolist()
    assert order[:2] == [[0, "stream"], [0, "non-stream"]] and order[4:6] == [[1, "non-stream"], [1, "stream"]]


@pytest.mark.server
def test_compare_logs_to_the_store_url_from_the_environment_unless_store_names_another(tmp_path, postgres_url, monkeypatch):
    file_log = tmp_path / "config-log.sqlite"
    with OllamaServer({"m": Script(gap_s=0.001)}) as ollama:
        config = {"store": str(file_log), "panes": [{"name": "o", "backend": "ollama", "model": "m", "host": ollama.url}]}
        monkeypatch.setenv("PLAYGROUND_STORE_URL", postgres_url)
        to_env = _compare(tmp_path, config, "--prompt", "hi")
        option_log = tmp_path / "option-log.sqlite"
        to_option = _compare(tmp_path, config, "--prompt", "hi", "--store", str(option_log))
    assert to_env.returncode == 0, to_env.stderr
    assert f"1 run logged to {postgres_url}" in to_env.stdout and not file_log.exists()
    assert [row["pane"] for row in RunStore(postgres_url).rows()] == ["o"]
    assert to_option.returncode == 0, to_option.stderr
    assert RunStore(option_log).count() == 1 and RunStore(postgres_url).count() == 1


def test_compare_closes_the_run_log_so_no_wal_file_is_left_beside_it(tmp_path):
    log = tmp_path / "runs.sqlite"
    config = tmp_path / "config.yaml"
    with OllamaServer({"m": Script(gap_s=0.001)}) as ollama:
        panes = [{"name": "o", "backend": "ollama", "model": "m", "host": ollama.url}]
        config.write_text(yaml.safe_dump({"store": str(log), "panes": panes}), encoding="utf-8")
        assert main(["compare", "--config", str(config), "--prompt", "hi"]) == 0
    # SQLite folds the write-ahead log into the file and removes it when its last connection closes.
    assert log.is_file() and not Path(f"{log}-wal").exists() and not Path(f"{log}-shm").exists()
    assert RunStore(log).count() == 1


@pytest.mark.slow  # two subprocesses
def test_bad_config_and_empty_prompt_give_one_clear_line(tmp_path):
    bad = _compare(tmp_path, {"panes": [{"name": "a", "backend": "nope", "model": "m"}]}, "--prompt", "hi")
    assert bad.returncode == 2 and "unknown backend 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    empty = _compare(tmp_path, {"panes": [{"name": "a", "backend": "ollama", "model": "m"}]}, "--prompt", "  ")
    assert empty.returncode == 2 and "no prompt given" in empty.stderr


def test_help_lists_the_subcommands_under_the_module_name():
    result = subprocess.run([sys.executable, "-m", "playground", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "compare" in result.stdout
    assert result.stdout.startswith("usage: python -m playground")


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "mine.yaml", "--store", "mine.sqlite", "compare", "--prompt", "hi"],
        ["compare", "--config", "mine.yaml", "--store", "mine.sqlite", "--prompt", "hi"],
        ["--config", "mine.yaml", "--store", "mine.sqlite", "ui"],
        ["ui", "--config", "mine.yaml", "--store", "mine.sqlite"],
        ["--config", "mine.yaml", "--store", "mine.sqlite"],
    ],
)
def test_config_and_store_are_honoured_before_or_after_the_command(argv):
    args = parse_args(argv)
    assert (args.config, args.store) == (Path("mine.yaml"), "mine.sqlite")


def test_page_options_are_honoured_before_ui_and_defaults_fill_the_rest():
    args = parse_args(["--port", "8000", "--share", "ui", "--host", "0.0.0.0"])
    assert (args.command, args.host, args.port, args.share, args.auth, args.store) == ("ui", "0.0.0.0", 8000, True, None, None)
    assert parse_args(["compare", "--prompt", "hi"]).config == default_config()


def test_serve_listens_on_its_own_port_and_takes_its_options_before_or_after_its_name():
    args = parse_args(["serve", "--pane", "local-qwen"])
    assert (args.host, args.port, args.api_key_env, args.max_queue, args.store) == ("127.0.0.1", 8000, None, 8, None)
    args = parse_args(["--port", "9000", "serve", "--pane", "p", "--api-key-env", "SERVE_KEY", "--max-queue", "2"])
    assert (args.command, args.pane, args.port, args.api_key_env, args.max_queue) == ("serve", "p", 9000, "SERVE_KEY", 2)


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["--port", "8000", "compare", "--prompt", "hi"], "`compare` does not take --port"),
        (["--share", "--auth", "u:p", "compare"], "`compare` does not take --share, --auth"),
        (["--config", "mine.yaml", "tiny-model", "out"], "`tiny-model` does not take --config"),
        (["--share", "serve", "--pane", "p"], "`serve` does not take --share"),
    ],
)
def test_options_the_command_would_ignore_are_refused(argv, refused, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv)
    assert stopped.value.code == 2 and refused in capsys.readouterr().err


def test_a_missing_config_before_compare_is_reported_not_replaced_by_the_default(tmp_path, capsys):
    missing = tmp_path / "nonexistent.yaml"
    assert main(["--config", str(missing), "compare", "--prompt", "hi"]) == 2
    assert f"{missing}: file not found" in capsys.readouterr().err


def test_default_config_is_the_checkouts_from_its_root_and_the_bundled_one_elsewhere(tmp_path, monkeypatch):
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    assert default_config() == Path("configs/default.yaml")
    monkeypatch.chdir(tmp_path)
    assert default_config() == bundled_configs() / "default.yaml" and default_config().is_file()


@pytest.mark.slow
def test_tiny_model_prints_only_its_path_and_refuses_a_non_empty_folder(tmp_path, capfd):
    target = tmp_path / "tiny"
    sizes = ["--hidden-size", "32", "--layers", "1", "--vocab-size", "300"]
    command = [sys.executable, "-m", "playground", "tiny-model", str(target), *sizes]
    built = subprocess.run(command, capture_output=True, text=True, timeout=240, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert built.returncode == 0, built.stderr
    assert built.stdout == f"{target}\n"
    config = json.loads((target / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (32, 1, 300)
    (target / "config.json").write_text("{}")
    assert main(["tiny-model", str(target), *sizes]) == 2
    assert "is not empty" in capfd.readouterr().err and (target / "config.json").read_text() == "{}"
    assert main(["tiny-model", str(target), *sizes, "--force"]) == 0
    assert capfd.readouterr().out == f"{target}\n"
    assert json.loads((target / "config.json").read_text())["hidden_size"] == 32


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--hidden-size", "36", "multiple of 8"), ("--layers", "0", "at least 1"), ("--vocab-size", "10", "at least 261")],
)
def test_tiny_model_refuses_sizes_it_cannot_build(tmp_path, capsys, option, value, message):
    assert main(["tiny-model", str(tmp_path / "tiny"), option, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "tiny").exists()


def _readme_commands() -> list[list[str]]:
    """The playground command lines in README.md's shell blocks, as argument lists."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [block.splitlines() for block in readme.split("```")[1::2]]
    lines = [line.strip() for block in blocks if block and block[0] == "bash" for line in block[1:]]
    starts = re.compile(r"^(\S*python\S*\s+-m\s+playground|\S*llm-playground)(\s|$)")
    return [shlex.split(line, comments=True) for line in lines if starts.match(line)]


def test_every_readme_command_is_in_a_form_that_runs_and_parses():
    commands = _readme_commands()
    assert len(commands) >= 6
    for words in commands:
        # The forms that work: the installed console script, or the checkout's environment.
        assert words[0] == "llm-playground" or words[:3] == [".venv/bin/python", "-m", "playground"], words
        parse_args(words[1 if words[0] == "llm-playground" else 3 :])


def test_every_pane_a_readme_command_names_is_in_its_config():
    repo = Path(__file__).resolve().parents[1]
    checked = 0
    for words in _readme_commands():
        args = parse_args(words[1 if words[0] == "llm-playground" else 3 :])
        named = [args.pane] if getattr(args, "pane", None) else getattr(args, "panes", None) or []
        if named:
            panes = {pane.name for pane in load_config(repo / args.config).panes}
            assert set(named) <= panes, f"{shlex.join(words)}: {args.config} has panes {sorted(panes)}"
            checked += 1
    assert checked >= 3
