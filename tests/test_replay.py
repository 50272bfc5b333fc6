"""Replay: the re-sent request is the logged one (checked where it arrives), old beside new, clear refusals."""

import pytest

from playground.backends.base import GenerationParams, Message
from playground.errors import InputError
from playground.replay import recent_batches, replay, replay_view
from playground.runner import FanOutRunner, PaneJob
from playground.store import RunStore
from playground.testing.loopback import OpenAIServer, Script, free_port
from tests.fakes import record_with

HISTORY = (Message("user", "明月几时有"), Message("assistant", "把酒问青天。"))
PARAMS = GenerationParams(temperature=0.4, top_p=0.9, max_tokens=32, seed=7)


def _panes(make_pane, url: str):
    return [
        make_pane(name="first", backend="openai", model="one", base_url=url, system="Be brief.", mode="stream"),
        make_pane(name="second", backend="openai", model="two", base_url=url, mode="non-stream"),
    ]


def _log_a_batch(store, panes) -> str:
    jobs = [PaneJob(p, p.build_request("不知天上宫阙", HISTORY, params=PARAMS)) for p in panes]
    records = FanOutRunner(store).run(jobs)
    assert [r.status for r in records] == ["ok", "ok"]
    return records[0].batch_id


def test_a_replayed_batch_sends_exactly_what_was_logged_and_sets_old_beside_new(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"one": Script(), "two": Script(tokens=("other ",) * 5)}) as server:
        panes = _panes(make_pane, server.url + "/v1")
        batch_id = _log_a_batch(store, panes)
        logged = {body["model"]: body for body in server.requests}
        pairs = replay(store, FanOutRunner(store), panes, batch_id, repeat=2)
        replayed = server.requests[2:]
    assert len(replayed) == 4
    for body in replayed:
        assert body == logged[body["model"]]
    assert logged["one"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert logged["one"]["messages"][-1] == {"role": "user", "content": "不知天上宫阙"}
    assert (logged["one"]["temperature"], logged["one"]["seed"], logged["one"]["stream"]) == (0.4, 7, True)
    view = replay_view(pairs)
    assert list(view["new pane"]) == ["first", "second", "first", "second"]
    assert list(view["mode"]) == ["stream", "non-stream"] * 2
    assert set(view["answer"]) == {"same"} and set(view["new status"]) == {"ok"}
    assert len(store.rows()) == 6 and {r["batch_id"] for r in store.rows()} != {batch_id}


def test_a_batch_replayed_on_another_pane_sends_the_logged_messages_and_params_there(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"one": Script(), "two": Script(tokens=("other ",) * 5)}) as server:
        panes = _panes(make_pane, server.url + "/v1")
        first_only = FanOutRunner(store).run([PaneJob(panes[0], panes[0].build_request("q", HISTORY, params=PARAMS))])
        original = server.requests[0]
        pairs = replay(store, FanOutRunner(store), panes, first_only[0].batch_id, targets=["second"])
        (sent,) = server.requests[1:]
    assert sent["messages"] == original["messages"] and sent["model"] == "two"
    expected = {"temperature": 0.4, "top_p": 0.9, "seed": 7, "stream": True}
    assert {k: sent[k] for k in expected} == expected
    (row,) = replay_view(pairs).to_dict("records")
    assert (row["old pane"], row["new pane"], row["answer"]) == ("first", "second", "changed")


def test_a_count_a_run_lacks_is_an_empty_cell_not_none_or_nan(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"one": Script(), "two": Script()}) as server:
        panes = _panes(make_pane, server.url + "/v1")
        dead = make_pane(name="dead", backend="openai", model="one", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
        first_only = FanOutRunner(store).run([PaneJob(panes[0], panes[0].build_request("q"))])
        pairs = replay(store, FanOutRunner(store), [*panes, dead], first_only[0].batch_id, targets=["first", "dead"])
    view = replay_view(pairs)
    # One column holding a count and a gap: left to pandas, "20.0" beside "NaN".
    assert list(view["new status"]) == ["ok", "error"] and list(view["new tokens"]) == ["20", ""]
    assert list(view["old tokens"]) == ["20", "20"] and list(view["new TTFT"])[1] == ""
    # A failed run has no answer to call "same" or "changed".
    assert list(view["answer"]) == ["same", ""]
    assert not {"None", "NaN", "nan"} & set(view.to_string(index=False).split())


def test_unknown_batches_old_batches_and_unknown_panes_are_refused_clearly(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="old", batch_id="before-requests"))
    panes = _panes(make_pane, "http://127.0.0.1:9/v1")
    with pytest.raises(InputError, match="no batch 'nope'"):
        replay(store, FanOutRunner(store), panes, "nope")
    with pytest.raises(InputError, match="cannot be replayed exactly"):
        replay(store, FanOutRunner(store), panes, "before-requests")
    with OpenAIServer({"one": Script()}) as server:
        batch_id = _log_a_batch_of_one(store, make_pane, server.url + "/v1")
        with pytest.raises(InputError, match="no pane named ghost"):
            replay(store, FanOutRunner(store), panes, batch_id, targets=["ghost"])
    assert recent_batches(store)[0][1] == batch_id and len(recent_batches(store)) == 2


def _log_a_batch_of_one(store, make_pane, url: str) -> str:
    pane = make_pane(name="first", backend="openai", model="one", base_url=url)
    return FanOutRunner(store).run([PaneJob(pane, pane.build_request("hi"))])[0].batch_id
