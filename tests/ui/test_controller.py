"""The page's shared pane directory: bounded, locked, and it never loads local weights on a visitor's say-so."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from playground.config import parse_config
from playground.errors import InputError
from playground.panes import BackendContext, build_panes
from playground.ui.controller import PAGE_UPDATES_PER_SECOND, PaneDirectory, update_interval


def _directory(max_variants: int = 32) -> PaneDirectory:
    config = parse_config(
        {
            "panes": [
                {"name": "local", "backend": "transformers", "model": "/models/a"},
                {"name": "local-b", "backend": "transformers", "model": "/models/b"},
                {"name": "ollama", "backend": "ollama", "model": "m", "host": "http://127.0.0.1:9"},
            ]
        }
    )
    context = BackendContext()
    return PaneDirectory(config, build_panes(config, context), context, max_variants=max_variants)


def test_a_new_local_model_typed_into_the_page_is_refused_with_the_fix():
    directory = _directory()
    with pytest.raises(InputError, match=r"add a pane with `model: /models/other`"):
        directory.get(0, "/models/other")
    # A model another local pane is configured with is loaded anyway: allowed.
    assert directory.get(0, "/models/b").config.model == "/models/b"


def test_variants_are_bounded_and_the_most_recent_are_kept():
    directory = _directory(max_variants=3)
    first = directory.get(2, "v0")
    for number in range(1, 6):
        directory.get(2, f"v{number}")
    assert directory.get(2, "v5") is directory.get(2, "v5")
    assert directory.get(2, "v0") is not first  # evicted, then built again


def test_concurrent_sessions_asking_for_one_model_share_one_pane():
    directory = _directory()
    panes = []
    threads = [threading.Thread(target=lambda: panes.append(directory.get(2, "shared"))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(panes) == 16 and len({id(p) for p in panes}) == 1


@pytest.mark.parametrize("panes", [1, 2, 3, 6])
def test_the_panes_of_a_turn_share_the_pages_update_rate(panes):
    per_pane = 1 / update_interval(0, panes)
    assert per_pane * panes == pytest.approx(PAGE_UPDATES_PER_SECOND)
    # A long answer is updated less often still.
    assert update_interval(100_000, panes) > update_interval(0, panes)


def _run_async(coroutine) -> None:
    """Run a coroutine on its own loop, in a thread (the browser tests' driver may hold this thread's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result(timeout=60)


def test_headers_say_a_pane_is_prepared_then_ready_without_asking_servers_at_start_up(tmp_path, monkeypatch):
    from playground.store import RunStore
    from playground.ui.app import build_controller

    config = parse_config({"panes": [{"name": "cloud", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}]})
    release = threading.Event()
    with RunStore(tmp_path / "runs.sqlite") as store:
        controller = build_controller(config, store)
        backend = controller.panes[0].backend
        asked: list[str] = []
        monkeypatch.setattr(backend, "check", lambda: asked.append("check"))
        monkeypatch.setattr(backend, "details", lambda: asked.append("details") or "12 models")
        prepare = backend.prepare
        monkeypatch.setattr(backend, "prepare", lambda: release.wait(30) and prepare())
        (at_start,) = controller.headers(ask_servers=False)
        assert at_start.endswith("⏳ preparing: opening the client") and asked == []
        controller.start_preparing()
        assert controller.preparing()
        _run_async(controller.until_prepared(timeout_s=0.2))  # bounded: still preparing
        assert controller.headers()[0].endswith("⏳ preparing: opening the client")
        release.set()
        _run_async(controller.until_prepared())
        assert not controller.preparing()
        assert controller.headers()[0].endswith("🟢 ready · 12 models")
        assert asked == ["check", "check", "details"]
