"""Stall detection on a run's chunk offsets, and a stall from a real stream to the run log."""

import random

import pytest

from playground.runner import FanOutRunner, PaneJob
from playground.store import RunStore
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from playground.timeline import STALL_MIN_S, count_stalls, find_stalls, gaps


def steady(n: int, gap: float) -> list[float]:
    return [0.2 + i * gap for i in range(n)]


def test_a_steady_stream_has_no_stalls():
    assert find_stalls(steady(50, 0.02)) == []


def test_one_long_gap_is_one_stall_at_the_chunk_that_ended_it():
    offsets = steady(20, 0.02)
    offsets = offsets[:10] + [t + 0.8 for t in offsets[10:]]
    (stall,) = find_stalls(offsets)
    assert stall.index == 10 and abs(stall.gap_s - 0.82) < 1e-9 and stall.start_s == offsets[9]


def test_a_gap_above_four_medians_but_below_the_floor_is_not_a_stall():
    offsets = steady(20, 0.01)
    offsets = offsets[:10] + [t + STALL_MIN_S / 2 for t in offsets[10:]]
    assert find_stalls(offsets) == []


def test_a_slow_but_even_stream_has_no_stalls():
    assert find_stalls(steady(10, 0.5)) == []


def test_non_streamed_runs_have_no_count_and_short_ones_none():
    assert count_stalls([1.0], streaming=False) is None
    assert count_stalls([], streaming=True) == 0
    assert count_stalls([0.01], streaming=True) == 0


@pytest.mark.parametrize("seed", range(60))
def test_the_record_count_matches_the_stalls_found(seed):
    """The record counts stalls from its sorted gaps; the views list them from offsets: same line.

    One rhythm per timeline, slow enough that 4× its median, not the 0.25 s floor, often draws the line,
    with candidate stalls on both sides of it and odd and even gap counts."""
    rng = random.Random(seed)
    base = rng.choice((0.005, 0.05, 0.1, 0.2))
    offsets = [0.1]
    for _ in range(rng.randrange(1, 40)):
        gap = base * rng.uniform(0.8, 1.2) if rng.random() > 0.25 else base * rng.choice((3.0, 3.9, 4.1, 5.0, 12.0))
        offsets.append(offsets[-1] + gap)
    assert count_stalls(sorted(gaps(offsets)), streaming=True) == len(find_stalls(offsets))


def test_with_an_even_count_the_median_is_the_mean_of_the_middle_two():
    offsets = [0.0]
    for gap in (0.1, 0.3, 0.1, 0.3, 0.1, 1.0):  # median 0.2: the line is 0.8, so 1.0 is a stall
        offsets.append(offsets[-1] + gap)
    assert len(find_stalls(offsets)) == 1 and count_stalls(sorted(gaps(offsets)), streaming=True) == 1


def test_a_gap_exactly_at_the_line_is_no_stall_either_way():
    offsets = [0.0, 0.015625, 0.03125, 0.046875, 0.046875 + STALL_MIN_S]  # exact in binary
    assert offsets[-1] - offsets[-2] == STALL_MIN_S
    assert find_stalls(offsets) == [] and count_stalls(sorted(gaps(offsets)), streaming=True) == 0


# ---- end to end: a scripted server's pause becomes one logged stall, at the right chunk ----------

STALL_AFTER = 8


@pytest.mark.parametrize("kind", ["openai", "ollama"])
@pytest.mark.parametrize("stall_s", [0.6, 0.0])
def test_a_server_pause_is_logged_as_one_stall_at_its_chunk_and_a_steady_stream_as_none(make_pane, tmp_path, kind, stall_s):
    script = Script(first_token_delay_s=0.05, gap_s=0.02, stall_after=STALL_AFTER, stall_s=stall_s)
    server_class = OpenAIServer if kind == "openai" else OllamaServer
    store = RunStore(tmp_path / "runs.sqlite")
    with server_class({"m": script}) as server:
        where = {"base_url": server.url + "/v1"} if kind == "openai" else {"host": server.url}
        pane = make_pane(name="p", backend=kind, model="m", **where)
        (record,) = FanOutRunner(store).run([PaneJob(pane, pane.build_request("hi"))])
    (logged,) = store.rows()
    offsets = store.timelines([record.run_id])[record.run_id]
    assert record.status == "ok" and logged["stalls"] == record.stalls == (1 if stall_s else 0)
    assert len(offsets) == logged["content_chunks"] == len(script.tokens)
    # Offsets are kept to the microsecond (milliseconds with three decimals).
    assert offsets[0] == pytest.approx(logged["ttft_s"], abs=1e-6)
    assert offsets[-1] == pytest.approx(logged["e2e_s"], abs=1e-6)
    if stall_s:
        (stall,) = find_stalls(offsets)
        assert stall.index == STALL_AFTER and stall.gap_s >= stall_s
