"""The local backend, loading the tiny model through the real transformers code path."""

import threading

import pytest

from playground.backends.local_models import IncrementalDetokenizer
from playground.metrics import MeteredRun, RunLabels
from playground.runner import FanOutRunner, PaneJob
from tests.support import DecodeSteps, wait_until


def _pane(make_pane, tiny_model_dir, **overrides):
    settings = {
        "name": "local",
        "backend": "transformers",
        "model": str(tiny_model_dir),
        "torch_threads": 1,
        "params": {"temperature": 0, "max_tokens": 24},
    }
    return make_pane(**(settings | overrides))


def _run(pane, **kwargs):
    return MeteredRun(pane.backend, pane.build_request("明月几时有", **kwargs), RunLabels("b", "test", pane.name)).run()


def test_streaming_and_non_streaming_give_the_same_greedy_text_and_exact_counts(make_pane, tiny_model_dir):
    pane = _pane(make_pane, tiny_model_dir)
    streamed, whole = _run(pane, mode="stream"), _run(pane, mode="non-stream")
    assert streamed.status == whole.status == "ok"
    assert streamed.response_text == whole.response_text != ""
    assert streamed.output_tokens == whole.output_tokens == 24
    assert streamed.token_source == "tokenizer"
    assert streamed.finish_reason == "length"
    assert whole.ttft_s == whole.e2e_s
    assert streamed.params_json == '{"do_sample": false, "max_new_tokens": 24}'


def test_incremental_detokenizer_matches_a_full_decode(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer.encode("明月几时有 把酒问青天 hello world 1 2 3 <think> x </think>", add_special_tokens=False)
    detokenizer = IncrementalDetokenizer(tokenizer, set())
    pieces = [detokenizer.add([token]) for token in ids] + [detokenizer.flush()]
    assert "".join(pieces) == tokenizer.decode(ids)


def test_model_is_loaded_once_and_shared_by_panes(make_pane, tiny_model_dir):
    first, second = _pane(make_pane, tiny_model_dir, name="a"), _pane(make_pane, tiny_model_dir, name="b")
    first_run, second_run = _run(first), _run(second)
    assert first_run.cold_start and not second_run.cold_start


def test_concurrent_requests_queue_on_the_model_lock(make_pane, tiny_model_dir):
    panes = [_pane(make_pane, tiny_model_dir, name=n, params={"temperature": 0, "max_tokens": 200}) for n in "ab"]
    FanOutRunner(None).prepare(panes)
    records = FanOutRunner(None).run([PaneJob(p, p.build_request("hi")) for p in panes])
    waits = sorted(r.queue_s for r in records)
    assert all(r.status == "ok" for r in records)
    # The second run waited roughly for the first one's whole generation.
    assert waits[1] > 0.5 * min(r.e2e_s for r in records)


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_stop_ends_generate_within_one_decode_step(make_pane, tiny_model_dir, mode):
    pane = _pane(make_pane, tiny_model_dir, params={"temperature": 0, "max_tokens": 100_000})
    request = pane.build_request("hi", mode=mode)
    run = MeteredRun(pane.backend, request, RunLabels("b", "test", pane.name))
    steps_at_stop = []
    with DecodeSteps(pane.backend) as steps:

        def stop_soon():
            wait_until(lambda: steps.count >= 20, what="20 decode steps")
            steps_at_stop.append(steps.count)
            request.stop.set()

        stopper = threading.Thread(target=stop_soon)
        stopper.start()
        record = run.run()
        stopper.join()
    assert record.status == "cancelled"
    # The step in progress when Stop was set may finish; no further one starts.
    assert steps.count - steps_at_stop[0] <= 1


def test_missing_model_folder_is_a_clear_error(make_pane, tmp_path):
    record = _run(_pane(make_pane, tmp_path / "nowhere"))
    assert record.error_type == "model_not_found"
    assert "does not exist" in record.error_message


def test_think_tags_in_local_output_become_reasoning(make_pane, tiny_model_dir, monkeypatch):
    pane = _pane(make_pane, tiny_model_dir)
    import playground.backends.transformers_local as local

    original = local.IncrementalDetokenizer.add
    calls = iter(["<think>plan", "</think>", "answer"])
    monkeypatch.setattr(local.IncrementalDetokenizer, "add", lambda self, ids: next(calls, "") or original(self, []))
    record = _run(pane)
    assert record.reasoning_text == "plan"
    assert record.response_text == "answer"
    assert record.reasoning_tokens and record.output_tokens == 24


@pytest.mark.slow
def test_compile_option_uses_a_static_cache_and_gives_the_same_greedy_text(make_pane, tiny_model_dir):
    eager = _pane(make_pane, tiny_model_dir, name="eager", params={"temperature": 0, "max_tokens": 12})
    compiled = _pane(make_pane, tiny_model_dir, name="compiled", compile=True, params={"temperature": 0, "max_tokens": 12})
    reference = _run(eager, mode="non-stream")
    first, second = _run(compiled, mode="non-stream"), _run(compiled, mode="stream")
    assert first.status == second.status == "ok", (first.error_message, second.error_message)
    assert first.response_text == second.response_text == reference.response_text
    assert '"cache_implementation": "static"' in first.params_json and '"compile": true' in first.params_json


def test_detokenizer_does_not_hold_invalid_bytes_for_ever(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    lone_lead_byte = tokenizer.convert_tokens_to_ids("Ã")  # byte-level 0xC3: starts a 2-byte character
    ids = [lone_lead_byte] * 12
    detokenizer = IncrementalDetokenizer(tokenizer, set())
    pieces = [detokenizer.add([token]) for token in ids]
    assert sum(1 for piece in pieces if piece) >= 2, "invalid bytes must be released, not held to the end"
    assert "".join(pieces) + detokenizer.flush() == tokenizer.decode(ids)
