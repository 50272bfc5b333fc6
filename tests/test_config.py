"""Config loading: the shipped configs are valid, and every error names file, field and fix."""

from pathlib import Path

import pytest

from playground.config import load_config
from playground.errors import ConfigError

CONFIGS = sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.yaml"))
PANE = "  - {name: a, backend: openai, model: m, base_url: 'http://127.0.0.1:1/v1'}\n"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    config = load_config(path)
    assert 1 <= len(config.panes) <= 6


def test_default_config_has_local_ollama_and_deepseek_panes():
    backends = {p.backend for p in load_config(CONFIGS[0].parent / "default.yaml").panes}
    assert backends == {"transformers", "ollama", "openai"}


def _error(tmp_path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and "Fix:" in message, message
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "panes:\n  - {name: a, backend: openai, model: m, base_url: 'http://x', colour: red}\n",
            "panes[0].colour: unknown field",
        ),
        ("panes:\n  - {name: a, backend: openai, model: m, base_url: 'http://x', max_retries: many}\n", "panes[0].max_retries"),
        ("panes:\n  - {name: a, backend: openai, base_url: 'http://x'}\n", "panes[0].model: required field is missing"),
        ("panes:\n" + PANE + PANE, "pane name 'a' is used twice"),
        ("panes: []\n", "panes: List should have at least 1 item"),
        ("panes: {name: a}\n", "panes: Input should be a valid list"),
        ("panes:\n  - {name: a, backend: ollama, model: ''}\n", "panes[0].model: String should have at least 1 character"),
        ("panes:\n  - {name: a, backend: openai, model: m, base_url: 'nope'}\n", "panes[0].base_url"),
        ("panes:\n  - {name: a, backend: openai, model: m, api_key: sk-123}\n", "panes[0].api_key: secrets are not accepted"),
        ("panes:\n  - {name: a, backend: openai, model: m, api_key_env: sk-abcdefabcdef}\n", "must name an environment variable"),
        ("panes:\n  - {name: a, backend: llamafile, model: m}\n", "unknown backend 'llamafile'"),
        ("panes:\n  - {name: a, backend: ollama, model: m, params: {max_tokens: -5}}\n", "panes[0].params.max_tokens"),
        ("panes:\n  - {name: a, backend: ollama, model: m, params: {temperature: 9}}\n", "panes[0].params.temperature"),
        (
            "panes:\n  - {name: a, backend: ollama, model: m, params: {temprature: 1}}\n",
            "panes[0].params.temprature: unknown field",
        ),
        ("panes:\n  - {name: a, backend: transformers, model: m, dtype: float8}\n", "panes[0].dtype"),
        ("panes: [\n", "invalid YAML at line"),
        ("- just a list\n", "the top level must be a mapping"),
    ],
)
def test_malformed_configs_name_file_field_and_fix(tmp_path, text, expected):
    assert expected in _error(tmp_path, text)


def test_seven_panes_are_too_many(tmp_path):
    panes = "".join(PANE.replace("name: a", f"name: p{i}") for i in range(7))
    assert "at most 6" in _error(tmp_path, "panes:\n" + panes)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")
