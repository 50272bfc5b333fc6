"""Page render delay: backend's last token → final text in the browser's DOM.

Headless Chromium drives the real page with 3 panes, each streaming 2,000 tokens as fast as a
loopback server (own process) can send them, once with an empty history and once with a
50-turn history in every pane. The delay is the instant the pane's text first contains the
last token (Date.now() in the page) minus the run's `ended_at` (the wrapper saw the last
token). Goal: ≤ 150 ms.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time

from benchmarks.common import machine, median, parser, result, table
from playground.config import parse_config
from playground.store import RunStore
from playground.testing.browser import WATCH_PANES_FOR, launch_chromium, open_page, send, wait_for_enabled, wait_for_text
from playground.testing.loopback import Script, SubprocessServer, free_port

TOKENS = 2000
HISTORY_TURNS = 50
PANES = 3
HISTORY_ANSWER = "A short earlier answer with a few sentences of text, as chats have. " * 3


def _history(controller, turns: int) -> None:
    """Give every pane of every open session `turns` earlier turns (as if they had been asked)."""
    for state in list(controller.sessions._sessions.values()):
        for conversation in state.conversations.values():
            conversation.clear()
            for turn in range(turns):
                prompt = f"earlier question {turn}"
                shown = [{"role": "user", "content": prompt}, {"role": "assistant", "content": HISTORY_ANSWER}]
                conversation.commit(prompt, HISTORY_ANSWER, shown)
            assert len(conversation.history) == 2 * turns


def _delays_ms(page, store, before: int) -> list[float]:
    deadline = time.monotonic() + 60
    while len(store.rows()) < before + PANES:
        assert time.monotonic() < deadline, "runs did not finish"
        time.sleep(0.05)
    page.wait_for_function(f"() => Object.keys(window.seenAt).length === {PANES}", timeout=60000)
    seen = page.evaluate("() => window.seenAt")
    rows = {r["pane"]: r for r in store.rows()[before:]}
    return [seen[str(i)] - dt.datetime.fromisoformat(rows[f"p{i}"]["ended_at"]).timestamp() * 1000 for i in range(PANES)]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    repeats = 2 if args.quick else args.repeats
    from playwright.sync_api import sync_playwright

    from playground.ui.app import build_controller, build_page
    from playground.ui.serve import launch, tune_interpreter

    tune_interpreter()  # as `python -m playground` does

    fast = {f"fast{i}": Script(tokens=tuple(f"tok{j} " for j in range(TOKENS))) for i in range(PANES)}
    rows, worst = [], 0.0
    with (
        tempfile.TemporaryDirectory() as folder,
        SubprocessServer("openai", fast) as openai_server,
        SubprocessServer("ollama", fast) as ollama,
    ):
        panes = [
            {"name": f"p{i}", "backend": "openai", "model": f"fast{i}", "base_url": openai_server.url + "/v1"}
            if i != 1
            else {"name": f"p{i}", "backend": "ollama", "model": f"fast{i}", "host": ollama.url}
            for i in range(PANES)
        ]
        store = RunStore(f"{folder}/runs.sqlite")
        controller = build_controller(parse_config({"panes": panes}), store)
        demo = build_page(controller)
        url, _ = launch(demo, "127.0.0.1", free_port())
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                open_page(page, url)
                for label, turns in (("empty history", 0), (f"{HISTORY_TURNS}-turn history", HISTORY_TURNS)):
                    delays: list[float] = []
                    for _ in range(repeats + 1):
                        page.click("#clear")
                        wait_for_text(page, "#pane-0-chat", "tok", present=False)
                        _history(controller, turns)
                        page.evaluate(WATCH_PANES_FOR, [f"tok{TOKENS - 1}", PANES])
                        before = len(store.rows())
                        send(page, "go")
                        delays.append(max(_delays_ms(page, store, before)))
                        wait_for_enabled(page, "#send")
                    delays = delays[1:]  # the first turn warms connections and the page
                    worst = max(worst, median(delays))
                    rows.append([label, median(delays), max(delays), len(delays)])
                browser.close()
        finally:
            demo.close()
    print(f"machine: {machine()}; {PANES} panes × {TOKENS} tokens at full speed; delay = slowest pane per turn")
    table(["history", "p50_ms", "max_ms", "turns"], rows)
    result("ui_final_render_p50", worst, "ms")


if __name__ == "__main__":
    main()
