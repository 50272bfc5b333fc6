"""The Arena tab in a real headless Chromium: a blind round hides the names until the vote, then
reveals them, and the vote lands in the run log and on the leaderboard."""

from __future__ import annotations

import pandas as pd
import pytest

from playground.testing.browser import open_page, wait_for_enabled, wait_for_text
from playground.testing.loopback import OpenAIServer, Script
from tests.ui.conftest import screenshot

pytestmark = pytest.mark.browser

ANSWERS = {"m-north": ("Blue ", "skies ", "ahead."), "m-south": ("Green ", "fields ", "below.")}
HIDDEN = ("north", "south", "openai", "TTFT", "E2E")


def _arena_text(page) -> str:
    """What the round shows: the two panes and the status line (not the pane picker, which lists every pane)."""
    return "\n".join(page.inner_text(selector) for selector in ("#arena-slot-0", "#arena-slot-1", "#arena-status"))


def test_a_blind_round_hides_names_until_the_vote_then_reveals_them_and_stores_the_vote(serve_app, page):
    scripts = {model: Script(tokens=tokens, first_token_delay_s=0.05, gap_s=0.05) for model, tokens in ANSWERS.items()}
    with OpenAIServer(scripts) as server:
        app = serve_app([
            {"name": "north", "backend": "openai", "model": "m-north", "base_url": server.url + "/v1"},
            {"name": "south", "backend": "openai", "model": "m-south", "base_url": server.url + "/v1"},
        ])  # fmt: skip
        open_page(page, app.url)
        page.get_by_role("tab", name="Arena").click()
        page.fill("#arena-prompt textarea", "Describe the view")
        page.press("#arena-prompt textarea", "Enter")
        wait_for_text(page, "#arena-status", "Vote to reveal")
        wait_for_enabled(page, "#arena-vote-0")
        blind = _arena_text(page)
        labels = [page.inner_text(f"#arena-vote-{name}") for name in ("0", "1", "tie", "both-bad")]
        screenshot(page, "arena-blind")
        page.click("#arena-vote-0")
        wait_for_text(page, "#arena-status", "Vote stored")
        wait_for_text(page, "#arena-slot-1-chat", "TTFT")
        wait_for_text(page, "#arena-leaderboard", "north")
        revealed = _arena_text(page)
        header_a = page.inner_text("#arena-slot-0-header")
        leaderboard = page.inner_text("#arena-leaderboard")
        wait_for_enabled(page, "#arena-votes-csv")
        with page.expect_download() as download:
            page.click("#arena-votes-csv")
        exported = pd.read_csv(download.value.path())
        screenshot(page, "arena")
        # A new round: blind again, and its vote is a vote of its own.
        page.click("#arena-new-round")
        wait_for_text(page, "#arena-slot-0-header", "north", present=False)
        page.fill("#arena-prompt textarea", "And now?")
        page.press("#arena-prompt textarea", "Enter")
        wait_for_text(page, "#arena-status", "Vote to reveal")
        wait_for_enabled(page, "#arena-vote-tie")
        second_blind = _arena_text(page)
        page.click("#arena-vote-tie")
        wait_for_text(page, "#arena-status", "Vote stored (a tie)")
        votes = app.store.votes()
    assert "Model A" in blind and "Model B" in blind
    assert labels == ["A is better", "B is better", "Tie", "Both bad"]
    assert "Blue skies ahead." in blind and "Green fields below." in blind
    assert not any(word in blind for word in HIDDEN), blind
    assert all(word in revealed for word in HIDDEN)
    winner = "north" if "north" in header_a else "south"
    assert not any(word in second_blind for word in HIDDEN) and "Describe the view" not in second_blind
    assert [v["winner"] for v in votes] == [winner, "tie"] and votes[0]["batch_id"] != votes[1]["batch_id"]
    runs = {row["run_id"]: row for row in app.store.rows()}
    assert len(runs) == 4 and {row["session_id"] for row in runs.values()} == {votes[0]["session_id"]}
    assert votes[0]["session_id"].startswith("arena-")
    assert [runs[run_id]["pane"] for run_id in votes[0]["run_ids"].split(",")][0] == winner
    assert "north" in leaderboard and "south" in leaderboard
    assert list(exported["vote_id"]) == [votes[0]["vote_id"]]


@pytest.mark.slow  # a served page, though no browser
def test_three_models_through_the_endpoints_one_vote_per_round_and_clear_refusals(serve_app):
    from gradio_client import Client

    scripts = {model: Script(tokens=(f"{model} answer",)) for model in ("m1", "m2", "m3")}
    with OpenAIServer(scripts) as server:
        url = server.url + "/v1"
        app = serve_app([{"name": f"p{i}", "backend": "openai", "model": f"m{i}", "base_url": url} for i in (1, 2, 3)])
        client = Client(app.url, verbose=False)
        early = _refusal(lambda: client.predict(api_name="/arena_vote_a"))
        started = client.predict("hello", [], 3, api_name="/arena_send")
        chats = [client.predict(api_name=f"/arena_slot_{i}") for i in range(3)]
        voted = client.predict(api_name="/arena_vote_c")
        again = _refusal(lambda: client.predict(api_name="/arena_vote_tie"))
    # The client sees the value components only: the prompt, the three headers and the status line.
    assert list(started) == ["", "**Model A**", "**Model B**", "**Model C**", "The models are answering…"]
    assert all("TTFT" not in str(chat) and "answer" in str(chat) for chat in chats)
    assert "send a prompt first" in early and "already has a vote" in again
    winner = next(run for run in app.store.rows() if run["run_id"] == app.store.votes()[0]["run_ids"].split(",")[2])
    assert app.store.votes()[0]["winner"] == winner["pane"] and f"**{winner['pane']}** best" in str(voted)


def _refusal(call) -> str:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - gradio_client raises AppError carrying the page's message
        return str(exc)
    return ""
