"""The Look closer tab through gradio_client: replay, paired comparison and a load sweep on the real page."""

import pytest
from gradio_client import Client

from playground.testing.loopback import OpenAIServer, Script
from playground.ui.look_closer import PANE_DEFAULT_MODE, _sweep_ending


def _turn(client: Client, app, prompt: str) -> None:
    client.predict(prompt, False, *app.settings_values(), api_name="/send")
    for index in range(len(app.config.panes)):
        client.predict(api_name=f"/pane_{index}")


@pytest.mark.slow  # a served page and a dozen turns
def test_the_tab_replays_a_batch_compares_two_panes_and_sweeps_one(serve_app):
    scripts = {"fast": Script(first_token_delay_s=0.005), "slow": Script(first_token_delay_s=0.08)}
    with OpenAIServer(scripts, max_concurrent=2) as server:
        app = serve_app([
            {"name": "a", "backend": "openai", "model": "fast", "base_url": server.url + "/v1", "params": {"seed": 5}},
            {"name": "b", "backend": "openai", "model": "slow", "base_url": server.url + "/v1"},
        ])  # fmt: skip
        client = Client(app.url, verbose=False)
        for prompt in ("one", "two", "three", "four", "five"):
            _turn(client, app, prompt)
        batches = client.predict(api_name="/replay_batches")["choices"]
        newest = batches[0][1]
        sent_before = len(server.requests)
        replayed, _ = client.predict(newest, ["b"], 1, api_name="/replay")
        resent = server.requests[sent_before:]
        sides = client.predict("this session", api_name="/paired_sides")[0]["choices"]
        paired = client.predict("this session", "a\tstream", "b\tstream", api_name="/paired")
        table, _plot, status = client.predict("a", "1,2", 2, PANE_DEFAULT_MODE, 30, "hi", api_name="/sweep")
    assert len(batches) == 5 and batches[0][0].endswith(newest[:8])
    logged = [body for body in server.requests[:sent_before] if body["messages"][-1]["content"] == "five"]
    assert [body["model"] for body in resent] == ["slow", "slow"]
    # Pane a's request (its own history, its seed) and pane b's, each sent again exactly, now to b.
    assert sorted(str(body["messages"]) for body in resent) == sorted(str(body["messages"]) for body in logged)
    assert sorted(str(body.get("seed")) for body in resent) == ["5", "None"]
    assert replayed["headers"][:2] == ["old pane", "new pane"] and [row[1] for row in replayed["data"]] == ["b", "b"]
    assert ["a (stream)", "a\tstream"] in sides
    by_metric = {row[0]: row for row in paired["data"]}
    assert by_metric["ttft_s"][paired["headers"].index("verdict")] == "A faster"
    assert table["headers"][0] == "concurrency" and [row[0] for row in table["data"]] == [1, 2]
    assert "Sweep finished. 4 runs logged" in status
    levels = [r["load_level"] for r in app.store.rows() if r["load_level"] is not None]
    assert sorted(levels) == [1, 1, 2, 2]


def test_the_tab_refuses_what_it_cannot_do_with_a_message(tmp_path):
    import gradio as gr

    from playground.config import parse_config
    from playground.store import RunStore
    from playground.ui.app import build_controller
    from playground.ui.look_closer import LookCloser

    config = parse_config({"panes": [{"name": "a", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}]})
    look = LookCloser(build_controller(config, RunStore(tmp_path / "runs.sqlite")))
    attempts = {
        "Pick a batch": lambda: look.replay(None, [], 1),
        "no batch 'gone'": lambda: look.replay("gone", [], 1),
        "Pick two different sides": lambda: look.compare("whole log", "a\t", "a\t", "s"),
        "Pick a pane to sweep": lambda: next(look.sweep("ghost", "1,2", 4, "stream", 10, "hi", "s")),
        "whole numbers": lambda: next(look.sweep("a", "1,x", 4, "stream", 10, "hi", "s")),
    }
    for message, attempt in attempts.items():
        with pytest.raises(gr.Error, match=message):
            attempt()
    assert look.sides("whole log", "s") == [] and look.batches() == []


def test_the_sweep_status_says_how_it_ended():
    # Stopped while the page still prepared its panes: nothing was sent, so nothing was in flight.
    assert _sweep_ending(True, 0) == "Stopped before any request was sent. 0 runs logged (load_level column)."
    assert _sweep_ending(True, 1).startswith("Stopped: runs in flight were logged as cancelled. 1 run logged")
    assert _sweep_ending(False, 2) == "Sweep finished. 2 runs logged (load_level column)."
