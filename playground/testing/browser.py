"""Headless Chromium for the browser tests and the UI benchmark (Debian's chromium, via Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# Records when each pane's text first contains `marker` (Date.now(), comparable with run instants).
WATCH_PANES_FOR = """
([marker, panes]) => {
  // When a pane first shows the marker in its current turn. A page with a live chat per pane streams
  // the turn there, alone; otherwise the marker must show once more than it does now in the pane's
  // chat, since earlier turns may hold it already.
  // textContent, not innerText: innerText lays the page out on every call, and this runs on every
  // change of the page (it cost the page ~0.1 s of a 2 s turn, and delayed what it measures).
  window.seenAt = {};
  const text = (selector) => document.querySelector(selector)?.textContent ?? "";
  const count = (selector) => text(selector).split(marker).length - 1;
  const live = document.querySelector("#pane-0-history") !== null;
  const before = Array.from({length: panes}, (_, i) => (live ? 0 : count(`#pane-${i}-chat`)));
  const check = () => {
    for (let i = 0; i < panes; i++) {
      if (i in window.seenAt) continue;
      const now = live ? count(`#pane-${i}-live`) : count(`#pane-${i}-chat`);
      if (now > before[i]) window.seenAt[i] = Date.now();
    }
  };
  if (window.seenObserver) window.seenObserver.disconnect();
  window.seenObserver = new MutationObserver(check);
  window.seenObserver.observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def launch_chromium(playwright: Any) -> Any:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)


def wait_for_text(page: Any, selector: str, text: str, present: bool = True, timeout_ms: float = 30000) -> None:
    """Wait until the element's text contains (or no longer contains) `text`.

    Null-safe: Playwright fails at once when a predicate throws, and elements come and go while
    Gradio renders.
    """
    check = f"(document.querySelector({selector!r})?.innerText ?? '').includes({text!r})"
    page.wait_for_function(f"() => {'' if present else '!'}{check}", timeout=timeout_ms)


def wait_for_enabled(page: Any, selector: str, enabled: bool = True, timeout_ms: float = 30000) -> None:
    state = "false" if enabled else "true"
    page.wait_for_function(f"() => document.querySelector({selector!r})?.disabled === {state}", timeout=timeout_ms)


def wait_idle(page: Any, timeout_ms: float = 30000) -> None:
    """Send usable again and Stop not: the turn is over."""
    wait_for_enabled(page, "#send", True, timeout_ms)
    wait_for_enabled(page, "#stop", False, timeout_ms)


def open_page(page: Any, url: str) -> None:
    """Open the playground and wait until its load events have reached the server."""
    page.goto(url)
    page.wait_for_selector("#prompt textarea")
    # The load event fills the run table's headers: from then on, events reach the server.
    wait_for_text(page, "#runs-table", "TTFT ms")


def send(page: Any, prompt: str) -> None:
    page.fill("#prompt textarea", prompt)
    page.press("#prompt textarea", "Enter")
