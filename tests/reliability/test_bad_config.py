"""Malformed configs: each error names the file, the field and the fix."""

import pytest

from playground.config import load_config
from playground.errors import ConfigError
from tests.reliability.conftest import record_figure

PANE = "  - {name: a, backend: openai, model: m, base_url: 'http://127.0.0.1:1/v1'}\n"


def _error(tmp_path, text: str | None) -> str:
    path = tmp_path / "bad.yaml"
    if text is None:
        path.mkdir()  # a path that cannot be read as a file (root reads any file, whatever its mode)
    else:
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
        (
            "panes:\n  - {name: a, backend: openai, model: m, base_url: 'http://x', extra_params: [top_p]}\n",
            "panes[0].extra_params[0]",
        ),
        ("prices: {m: {input: 1}}\npanes:\n" + PANE, "prices.m.output: required field is missing"),
        ("panes:\n  - {name: a, backend: ollama, model: m, keep_alive: {a: 1}, host: 'http://x'}\n", "panes[0].keep_alive"),
        (
            "panes:\n  - {name: a, backend: openai, model: m, headers: {token: abc}}\n",
            "panes[0].headers.token: secrets are not accepted",
        ),
        ("panes:\n  - {name: a, backend: openai, model: m, base_url: 'http://x', system: 5}\n", "panes[0].system"),
    ],
)
def test_malformed_configs_name_file_field_and_fix(tmp_path, text, expected):
    message = _error(tmp_path, text)
    record_figure("bad_config", expected, {"handled": expected in message, "message": message})
    assert expected in message


def test_unreadable_file(tmp_path):
    message = _error(tmp_path, None)
    record_figure("bad_config", "unreadable file", {"handled": "cannot read the file" in message, "message": message})
    assert "cannot read the file" in message


def test_seven_panes_are_too_many(tmp_path):
    panes = "".join(PANE.replace("name: a", f"name: p{i}") for i in range(7))
    assert "at most 6" in _error(tmp_path, "panes:\n" + panes)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")
