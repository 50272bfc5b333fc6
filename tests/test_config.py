"""Config loading: the shipped configs are valid, and every error names file, field and fix."""

from pathlib import Path

import pytest

from playground.config import load_config

CONFIGS = sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    config = load_config(path)
    assert 1 <= len(config.panes) <= 6


def test_default_config_has_local_ollama_and_deepseek_panes():
    backends = {p.backend for p in load_config(CONFIGS[0].parent / "default.yaml").panes}
    assert backends == {"transformers", "ollama", "openai"}
