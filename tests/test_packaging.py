"""The package as a user installs it: the wheel built from this checkout, run outside the checkout.

Installing every dependency into a fresh environment costs about 1.4 GB and a minute, so the
fresh venv gets only the wheel (`pip install --no-deps`) and reaches its dependencies through a
.pth file naming the site-packages of the interpreter running the tests. What the wheel itself
brings (its packages, the bundled configs, the `llm-playground` console script) comes only from
the built file, and every command runs from a folder outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
# Local state that is not part of the source and would only slow the copy down.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "test-artifacts", "runs.sqlite*"
)


def _run(command: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _ok(command: list[str], cwd: Path) -> str:
    result = _run(command, cwd)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it; returns its bin folder."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    # Built from a copy, so the build leaves no build/ or *.egg-info in the checkout.
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _ok([*pip, "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(root / "dist"), str(source)], root)
    (wheel,) = (root / "dist").glob("llm_playground-*.whl")
    venv = root / "venv"
    _ok([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    python = venv / "bin" / "python"
    site_packages = Path(_ok([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).strip())
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "test_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    _ok([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "--quiet", str(wheel)], root)
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder with no configs/ in it, outside the checkout."""
    assert not (tmp_path / "configs").exists() and REPO not in tmp_path.parents
    return tmp_path


def test_the_wheel_is_what_runs_and_declares_the_pinned_requirements(installed: Path, elsewhere: Path):
    location = _ok([str(installed / "python"), "-c", "import playground; print(playground.__file__)"], elsewhere)
    assert Path(location).is_relative_to(installed.parent), location
    declared = _ok(
        [str(installed / "python"), "-c", "from importlib.metadata import requires; print(*requires('llm-playground'))"],
        elsewhere,
    )
    pinned = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert declared.split() == pinned


def test_console_script_and_module_show_the_same_commands(installed: Path, elsewhere: Path):
    script_help = _ok([str(installed / "llm-playground"), "--help"], elsewhere)
    module_help = _ok([str(installed / "python"), "-m", "playground", "--help"], elsewhere)
    assert script_help.startswith("usage: llm-playground") and module_help.startswith("usage: python -m playground")
    for command in ("ui", "compare", "tiny-model"):
        assert command in script_help and command in module_help
    compare_help = _ok([str(installed / "llm-playground"), "compare", "--help"], elsewhere)
    assert "--prompt" in compare_help and "--config FILE" in compare_help


def test_the_bundled_configs_ship_and_the_default_one_loads(installed: Path, elsewhere: Path):
    # Naming a pane that does not exist stops after the config is loaded and validated,
    # and the message names the file that was read and its panes.
    result = _run([str(installed / "llm-playground"), "compare", "--prompt", "hi", "--panes", "no-such-pane"], elsewhere)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "no pane named no-such-pane in " in line and "panes: deepseek, local-qwen, ollama-qwen" in line
    loaded = Path(line.split(" in ", 1)[1].split(";")[0])
    assert loaded.is_relative_to(installed.parent) and loaded.name == "default.yaml"
    for config in sorted((REPO / "configs").glob("*.yaml")):
        assert (loaded.parent / config.name).read_bytes() == config.read_bytes()
