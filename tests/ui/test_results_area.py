"""The results area in a real headless Chromium: readable tables at common widths, and a click on a
run opening its record and token timeline. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import pytest

from playground.records import COLUMNS
from playground.testing.browser import open_page, send, wait_for_text, wait_idle
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from playground.ui.results import TABLE_HEADERS
from tests.support import wait_until
from tests.ui.conftest import screenshot

pytestmark = pytest.mark.browser

SCRIPTS = {
    "steady": Script(first_token_delay_s=0.1, gap_s=0.02),
    # One pause of 0.6 s before the ninth token: a stall (above 4× the 20 ms gaps and 250 ms).
    "stalling": Script(first_token_delay_s=0.1, gap_s=0.02, stall_after=8, stall_s=0.6),
}

# Per header cell of a table: its text's rendered height in lines of its own line height, and
# whether its longest word is wider than the text's box (then the browser cuts the word in two).
HEADER_LINES = """
(selector) => {
  const measure = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll(`${selector} thead th`)].map((cell) => {
    const text = cell.querySelector('.header') ?? cell;
    const style = getComputedStyle(text);
    const line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
    measure.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const name = text.innerText.replace(/\\s+/g, ' ').trim();
    const widest = Math.max(...name.split(' ').map((word) => measure.measureText(word).width));
    return {name, lines: text.getBoundingClientRect().height / line, word_cut: widest > text.clientWidth + 0.5};
  });
}
"""
# How far a table is wider than the boxes it sits in (0 when it fits: no horizontal scroll).
OVERFLOW_PX = """
(selector) => Math.max(0, ...[...document.querySelectorAll(
  `${selector}, ${selector} .table-wrap, ${selector} .virtual-table-viewport`
)].map((box) => box.scrollWidth - box.clientWidth))
"""
# Body cells (Gradio 6 draws rows as role=row divs) whose text is cut off.
CUT_CELLS = """
(selector) => [...document.querySelectorAll(`${selector} [role=gridcell] .cell-wrap`)]
  .filter((cell) => cell.scrollWidth > cell.clientWidth + 1).map((cell) => cell.innerText)
"""
ROW = "#runs-table [role=row].virtual-row"
RECORD_ROWS = """
() => [...document.querySelectorAll('#run-record [role=row].virtual-row')]
  .map((row) => [...row.querySelectorAll('[role=gridcell]')].map((cell) => cell.innerText.trim()))
"""


def _three_pane_turn(serve_app, page, openai_server, ollama):
    app = serve_app([
        {"name": "local-qwen", "backend": "openai", "model": "steady", "base_url": openai_server.url + "/v1"},
        {"name": "ollama-qwen", "backend": "ollama", "model": "stalling", "host": ollama.url},
        {"name": "deepseek", "backend": "openai", "model": "steady", "base_url": openai_server.url + "/v1",
         "mode": "non-stream"},
    ])  # fmt: skip
    open_page(page, app.url)
    send(page, "明月几时有")
    wait_until(lambda: len(app.store.rows()) == 3, what="three runs in the log")
    wait_idle(page)
    for pane in ("local-qwen", "ollama-qwen", "deepseek"):
        wait_for_text(page, "#runs-table .table-wrap", pane)
    page.wait_for_selector("#median-plot img")
    return app


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_results_tables_read_at_common_widths(serve_app, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        with OpenAIServer(SCRIPTS) as openai_server, OllamaServer(SCRIPTS) as ollama:
            _three_pane_turn(serve_app, page, openai_server, ollama)
            runs_headers = page.evaluate(HEADER_LINES, "#runs-table")
            summary_headers = page.evaluate(HEADER_LINES, "#summary-table")
            overflow = {t: page.evaluate(OVERFLOW_PX, t) for t in ("#runs-table", "#summary-table")}
            cut = {t: page.evaluate(CUT_CELLS, t) for t in ("#runs-table", "#summary-table")}
            page.locator("#runs-table").scroll_into_view_if_needed()
            screenshot(page, f"results-{width}")
    finally:
        context.close()
    assert [h["name"] for h in runs_headers] == TABLE_HEADERS
    assert max(h["lines"] for h in runs_headers) < 1.5, runs_headers
    assert len(summary_headers) >= 12 and max(h["lines"] for h in summary_headers) < 2.5, summary_headers
    assert not [h["name"] for h in runs_headers + summary_headers if h["word_cut"]]
    assert overflow == {"#runs-table": 0, "#summary-table": 0}
    assert cut == {"#runs-table": [], "#summary-table": []}


def test_a_click_on_a_run_shows_its_record_and_timeline_and_then_its_batch(serve_app, page):
    with OpenAIServer(SCRIPTS) as openai_server, OllamaServer(SCRIPTS) as ollama:
        app = _three_pane_turn(serve_app, page, openai_server, ollama)
        assert not page.locator("#run-details").is_visible()
        page.locator(ROW, has_text="ollama-qwen").locator("[role=gridcell]").nth(3).click()
        wait_for_text(page, "#run-details-title", "ollama-qwen · stream")
        page.wait_for_selector("#run-timeline img")
        title = page.inner_text("#run-details-title")
        record = page.evaluate(RECORD_ROWS)
        single = page.locator("#run-timeline img").get_attribute("src")
        screenshot(page, "run-details-one-run")
        page.click("#batch-timeline")
        page.wait_for_function(
            "(before) => { const img = document.querySelector('#run-timeline img'); return img && img.src !== before; }",
            arg=single,
            timeout=30000,
        )
        screenshot(page, "run-details-batch")
    stalled = next(r for r in app.store.rows() if r["pane"] == "ollama-qwen")
    # The record's table draws only the rows in view: its first rows, in the run log's order.
    assert len(record) >= 5 and [name for name, _ in record] == list(COLUMNS[: len(record)])
    assert dict(record)["run_id"] == stalled["run_id"] and stalled["stalls"] == 1
    assert "1 stall" in title
