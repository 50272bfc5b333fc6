"""Each backend × each fault: a specific error row, partial text kept, the other pane unharmed."""

from __future__ import annotations

import time

import pytest

from playground.errors import ConfigError
from playground.runner import FanOutRunner, PaneJob
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from tests.reliability.conftest import record_figure

SECRET = "sk-reliabilityFAKE0123456789"
MID_STREAM = 3  # faults that strike mid-stream do so after three pieces: "tok0 tok1 tok2 "
FAULTS: dict[str, tuple[dict, str]] = {
    # fault: (script or pane settings, expected error_type)
    "refused": ({}, "unreachable"),
    "401": ({"status": 401}, "auth"),
    "403": ({"status": 403}, "auth"),
    "429 with Retry-After": ({"status": 429, "headers": {"retry-after": "7"}}, "rate_limit"),
    "500": ({"status": 500}, "server"),
    "read timeout mid-stream": ({"stall_after": MID_STREAM, "stall_s": 10}, "timeout"),
    "connect timeout": ({}, "timeout"),
    "malformed chunk": ({"malformed_after": MID_STREAM}, "malformed"),
    "dropped mid-stream": ({"drop_after": MID_STREAM}, "connection_lost"),
    "empty answer": ({"tokens": ()}, "empty_answer"),
    "unknown model": ({}, "model_not_found"),
}
PARTIAL = {"read timeout mid-stream", "malformed chunk", "dropped mid-stream"}


def _pane_settings(kind: str, url: str, model: str) -> dict:
    timeouts = {"connect_timeout_s": 0.5, "read_timeout_s": 1.0}
    if kind == "openai":
        return {
            "backend": "openai",
            "model": model,
            "base_url": url + "/v1",
            "max_retries": 0,
            "api_key_env": "RELIABILITY_KEY",
            **timeouts,
        }
    # No retries here: each fault is seen once (retrying has its own tests).
    return {"backend": "ollama", "model": model, "host": url, "max_retries": 0, **timeouts}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_remote_fault(kind, fault, make_pane, closed_url, black_hole_url, monkeypatch):
    monkeypatch.setenv("RELIABILITY_KEY", SECRET)
    script_settings, expected = FAULTS[fault]
    server_class = OpenAIServer if kind == "openai" else OllamaServer
    scripts = {"faulty": Script(**script_settings), "healthy": Script(gap_s=0.002)}
    with server_class(scripts) as server:
        url = {"refused": closed_url, "connect timeout": black_hole_url}.get(fault, server.url)
        model = "missing-model" if fault == "unknown model" else "faulty"
        faulty = make_pane(name="faulty", **_pane_settings(kind, url, model))
        healthy = make_pane(name="healthy", **_pane_settings(kind, server.url, "healthy"))
        started = time.perf_counter()
        records = {
            r.pane: r for r in FanOutRunner(None).run([PaneJob(p, p.build_request("明月几时有")) for p in (faulty, healthy)])
        }
        elapsed = time.perf_counter() - started
    record, other = records["faulty"], records["healthy"]
    problems = _problems(record, other, fault, expected)
    record_figure(
        "fault_matrix",
        f"{kind} × {fault}",
        {"handled": not problems, "error_type": record.error_type, "message": record.error_message},
    )
    assert not problems, (problems, record)
    assert elapsed < 5.0, f"a {fault} held the fan-out for {elapsed:.1f} s"


def _problems(record, other, fault: str, expected: str) -> list[str]:
    """What is wrong with how the fan-out handled the fault (empty when it was handled well)."""
    checks = {
        "not an error": record.status == "error",
        f"error_type {record.error_type!r}, expected {expected!r}": record.error_type == expected,
        "no message, a traceback or the key in it": bool(record.error_message)
        and "Traceback" not in record.error_message
        and SECRET not in record.error_message,
        "partial text lost": fault not in PARTIAL or (record.partial and record.response_text == "tok0 tok1 tok2 "),
        "a broken stream not called broken": fault != "dropped mid-stream" or "broke mid-answer" in (record.error_message or ""),
        "the healthy pane did not finish": other.status == "ok" and other.output_tokens == 20,
    }
    return [problem for problem, passed in checks.items() if not passed]


def test_openai_retries_are_bounded_in_count_and_time(make_pane):
    with OpenAIServer({"m": Script(status=500)}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1", max_retries=2)
        started = time.perf_counter()
        (record,) = FanOutRunner(None).run([PaneJob(pane, pane.build_request("hi"))])
        elapsed = time.perf_counter() - started
        attempts = len(server.requests)
    record_figure("retries", "openai 500 with max_retries=2", {"attempts": attempts, "seconds": round(elapsed, 2)})
    assert record.error_type == "server" and attempts == 3 and elapsed < 10


def _local_pane(make_pane, model, **extra):
    return make_pane(name="local", backend="transformers", model=str(model), torch_threads=1, params={"max_tokens": 8}, **extra)


def _record_local(fault: str, record, expected: str) -> None:
    handled = {"handled": record.error_type == expected, "message": record.error_message}
    record_figure("fault_matrix", f"transformers × {fault}", handled)


def _run_beside_healthy(make_pane, faulty, prompt: str = "hi"):
    with OpenAIServer({"healthy": Script()}) as server:
        healthy = make_pane(name="healthy", backend="openai", model="healthy", base_url=server.url + "/v1")
        records = {r.pane: r for r in FanOutRunner(None).run([PaneJob(p, p.build_request(prompt)) for p in (faulty, healthy)])}
    assert records["healthy"].status == "ok"
    return records["local"]


def test_local_missing_folder_and_unknown_model(make_pane, tmp_path):
    missing = _run_beside_healthy(make_pane, _local_pane(make_pane, tmp_path / "nowhere"))
    unknown = _run_beside_healthy(make_pane, _local_pane(make_pane, "no-such-org/no-such-model"))
    _record_local("missing folder", missing, "model_not_found")
    _record_local("unknown hub id", unknown, "model_not_found")
    assert missing.error_type == "model_not_found" and "does not exist" in missing.error_message
    assert unknown.error_type == "model_not_found" and "not in the Hugging Face cache" in unknown.error_message


def test_local_out_of_memory_at_load_and_during_generation(make_pane, tiny_model_dir, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with monkeypatch.context() as patch:
        patch.setattr(AutoModelForCausalLM, "from_pretrained", out_of_memory)
        at_load = _run_beside_healthy(make_pane, _local_pane(make_pane, tiny_model_dir, dtype="float16"))
    pane = _local_pane(make_pane, tiny_model_dir)
    pane.backend.prepare()
    loaded, _ = pane.backend._load()
    monkeypatch.setattr(loaded.model, "generate", out_of_memory)
    during = _run_beside_healthy(make_pane, pane)
    _record_local("out of memory at load", at_load, "model_load")
    _record_local("out of memory generating", during, "model_load")
    assert at_load.error_type == "model_load" and "out of memory loading" in at_load.error_message
    assert during.error_type == "model_load" and "out of memory generating" in during.error_message


def test_local_bad_dtype_is_refused_in_the_config(make_pane, tiny_model_dir):
    with pytest.raises(ConfigError) as caught:
        _local_pane(make_pane, tiny_model_dir, dtype="float8")
    record_figure(
        "fault_matrix",
        "transformers × bad dtype",
        {"handled": "panes[0].dtype" in str(caught.value), "message": str(caught.value)},
    )
    assert "panes[0].dtype" in str(caught.value) and "Fix:" in str(caught.value)


def test_local_conversation_longer_than_the_context(make_pane, tiny_model_dir):
    long_prompt = "明月几时有 把酒问青天 " * 3000  # far past the tiny model's 4,096 positions
    record = _run_beside_healthy(make_pane, _local_pane(make_pane, tiny_model_dir), prompt=long_prompt)
    _record_local("context overflow", record, "bad_request")
    assert record.error_type == "bad_request" and "the model takes at most 4,096" in record.error_message
