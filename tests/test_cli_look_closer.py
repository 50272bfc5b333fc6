"""The command line's replay, sweep and compare --until-clear, in process against loopback servers."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from playground.cli import main
from playground.store import RunStore
from playground.testing.loopback import OpenAIServer, Script, free_port

# Stream: first token after 10 ms; non-stream: the whole answer after 10 ms + 19 × 5 ms.
PACED = Script(first_token_delay_s=0.01, gap_s=0.005)


def _config(tmp_path, url: str, panes: tuple[str, ...] = ("first", "second"), **options: object) -> str:
    pane = {"backend": "openai", "model": "m", "base_url": url + "/v1", "params": {"seed": 3}, **options}
    config = {"store": str(tmp_path / "runs.sqlite"), "panes": [{"name": name, **pane} for name in panes]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


@pytest.mark.slow  # seconds of real requests
def test_replay_resends_a_logged_batch_and_prints_old_beside_new(tmp_path, capsys):
    with OpenAIServer({"m": PACED}) as server:
        config = _config(tmp_path, server.url)
        assert main(["compare", "--config", config, "--prompt", "明月几时有"]) == 0
        batch_id = RunStore(tmp_path / "runs.sqlite").rows()[0]["batch_id"]
        capsys.readouterr()
        assert main(["replay", batch_id, "--config", config, "--panes", "second", "--repeat", "2"]) == 0
        sent = server.requests
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[:5]
    assert header.split()[:4] == ["old", "pane", "new", "pane"]
    assert sum(line.split()[:2] == ["first", "second"] for line in rows) == 2
    assert "6 runs logged" not in out and "4 runs logged" in out
    assert all(body["messages"] == sent[0]["messages"] and body["seed"] == 3 for body in sent)


def test_replay_says_why_runs_failed_once_per_pane_and_reason_with_how_many_runs(tmp_path, capsys):
    with OpenAIServer({"m": Script()}) as server:
        assert main(["compare", "--config", _config(tmp_path, server.url), "--prompt", "hi", "--modes", "stream"]) == 0
    batch_id = RunStore(tmp_path / "runs.sqlite").rows()[0]["batch_id"]
    capsys.readouterr()
    config = _config(tmp_path, f"http://127.0.0.1:{free_port()}", max_retries=0)
    assert main(["replay", batch_id, "--config", config, "--repeat", "3"]) == 1
    lines = capsys.readouterr().out.splitlines()
    reasons = [line for line in lines if "cannot reach" in line]
    assert [line.split(":")[0] for line in reasons] == ["first (3 runs)", "second (3 runs)"]
    assert len(lines) == 1 + 6 + 2 + 1  # header, six runs, two reasons, where they were logged
    assert "None" not in lines[1].split()  # a failed run has no token count: an empty cell


def test_replay_of_an_unknown_batch_says_so_in_one_line(tmp_path, capsys):
    config = _config(tmp_path, "http://127.0.0.1:9")
    RunStore(tmp_path / "runs.sqlite").close()
    assert main(["replay", "nope", "--config", config]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no batch 'nope'") and "Traceback" not in err


def test_replay_without_a_run_log_says_so_as_leaderboard_does_and_creates_none(tmp_path, capsys):
    config = _config(tmp_path, "http://127.0.0.1:9")
    assert main(["replay", "nope", "--config", config]) == 2
    assert capsys.readouterr().err == f"error: no run log at {tmp_path / 'runs.sqlite'}: name one with --store FILE.\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "config.yaml"]


@pytest.mark.slow  # seconds of real requests
def test_sweep_prints_one_row_per_level_and_logs_every_run_with_its_level(tmp_path, capsys):
    with OpenAIServer({"m": PACED}, max_concurrent=2) as server:
        config = _config(tmp_path, server.url)
        plot = tmp_path / "sweep.png"
        argv = ["sweep", "--config", config, "--pane", "second", "--concurrency", "1,4", "--requests", "4", "--plot", str(plot)]
        assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["concurrency", "requests", "ok"]
    assert [line.split()[:3] for line in lines[1:3]] == [["1", "4", "4"], ["4", "4", "4"]]
    rows = RunStore(tmp_path / "runs.sqlite").rows()
    assert sorted(r["load_level"] for r in rows) == [1] * 4 + [4] * 4 and {r["pane"] for r in rows} == {"second"}
    assert plot.stat().st_size > 0


def test_sweep_refuses_bad_levels_and_unknown_panes_clearly(tmp_path, capsys):
    config = _config(tmp_path, "http://127.0.0.1:9")
    assert main(["sweep", "--config", config, "--pane", "second", "--concurrency", "1,x"]) == 2
    assert "whole numbers" in capsys.readouterr().err
    assert main(["sweep", "--config", config, "--pane", "ghost"]) == 2
    assert capsys.readouterr().err.startswith("error: --pane: no pane named ghost in ")


def test_a_sweep_that_cannot_reach_its_server_stops_after_one_level_and_says_why(tmp_path, capsys):
    config = _config(tmp_path, f"http://127.0.0.1:{free_port()}", max_retries=0)
    plot = tmp_path / "sweep.png"
    argv = ["sweep", "--config", config, "--pane", "first", "--concurrency", "1,2,4", "--requests", "3", "--plot", str(plot)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "stopped after concurrency 1: every run failed with an error more requests cannot fix" in captured.err
    assert "not run: concurrency 2, 4." in captured.err
    header, level, *rest = captured.out.splitlines()
    # The first run could not connect: the level sent none of its other two.
    assert level.split()[:6] == ["1", "1", "0", "1", "0", "1.0"] and set(level.split()[6:]) == {"–"}
    assert "None" not in captured.out
    assert re.match(r"first \(1 run\): cannot reach 127\.0\.0\.1:\d+", rest[0])
    assert rest[1] == f"no plot: no run succeeded, so there is nothing to draw ({plot} not written)."
    assert not plot.exists()
    log = tmp_path / "runs.sqlite"
    assert not Path(f"{log}-wal").exists()  # the sweep closed its run log
    assert [r["load_level"] for r in RunStore(log).rows()] == [1]


@pytest.mark.slow  # seconds of real requests
def test_until_clear_stops_once_every_pane_is_clear(tmp_path, capsys):
    with OpenAIServer({"m": PACED}) as server:
        config = _config(tmp_path, server.url)
        argv = ["compare", "--config", config, "--prompt", "hi", "--until-clear", "--clear-on", "ttft_s", "--max-repeat", "10"]
        assert main(argv) == 0
    out = capsys.readouterr().out
    # Repeat 0's first run of each pane is a warm-up, so three pairs (enough for an interval) take four repeats.
    assert "after 4 repeats: every difference is clear" in out
    verdicts = [line for line in out.splitlines() if line.lstrip().startswith("ttft_s")]
    assert len(verdicts) == 2 and all("A faster" in line for line in verdicts)
    assert len(RunStore(tmp_path / "runs.sqlite").rows()) == 4 * 2 * 2


@pytest.mark.slow  # seconds of real requests
def test_until_clear_stops_at_the_cap_and_says_what_is_unclear(tmp_path, capsys):
    with OpenAIServer({"m": PACED}) as server:
        config = _config(tmp_path, server.url, panes=("first",))
        assert main(["compare", "--config", config, "--prompt", "hi", "--until-clear", "--max-repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "after 2 repeats: not every difference is clear (cap: --max-repeat 2)" in out
    assert "no clear difference" in out and "at least 3 runs a side" in out
    assert main(["compare", "--config", config, "--prompt", "hi", "--until-clear", "--modes", "stream"]) == 2
    assert "--until-clear compares stream with non-stream" in capsys.readouterr().err


def test_until_clear_with_no_pane_answering_says_there_is_nothing_to_compare(tmp_path, capsys):
    config = _config(tmp_path, f"http://127.0.0.1:{free_port()}", max_retries=0)
    assert main(["compare", "--config", config, "--prompt", "hi", "--until-clear", "--max-repeat", "30"]) == 1
    out = capsys.readouterr().out
    assert "first: no successful run, nothing to compare" in out
    assert out.rstrip().endswith("nothing to compare after 1 repeat: no pane answered")
    assert "every difference is clear" not in out
    assert len(RunStore(tmp_path / "runs.sqlite").rows()) == 2 * 2  # one repeat: two panes, both modes


@pytest.mark.slow  # a subprocess
def test_sweep_runs_as_a_command(tmp_path):
    with OpenAIServer({"m": PACED}, max_concurrent=2) as server:
        config = _config(tmp_path, server.url)
        command = [sys.executable, "-m", "playground", "sweep", "--config", config, "--pane", "first", "--concurrency", "1,2",
                   "--requests", "2"]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "4 runs logged to" in result.stdout


@pytest.mark.slow  # a subprocess
def test_ctrl_c_ends_a_sweep_cleanly_and_logs_its_runs_in_flight_as_cancelled(tmp_path):
    import signal

    from tests.support import ctrl_c_as_in_a_terminal, wait_until

    with OpenAIServer({"m": Script(first_token_delay_s=0.01, stall_after=1, stall_s=60)}) as server:
        config = _config(tmp_path, server.url)
        command = [sys.executable, "-m", "playground", "sweep", "--config", config, "--pane", "first", "--concurrency", "2",
                   "--requests", "10"]  # fmt: skip
        # faulthandler: should the stop hang, SIGABRT makes the process print every thread's stack.
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONFAULTHANDLER": "1"}
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=ctrl_c_as_in_a_terminal
        )
        try:
            wait_until(lambda: len(server.requests) == 2, timeout_s=120, what="two requests in flight")
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            out, err = process.communicate(timeout=30)
            pytest.fail(f"the sweep did not stop within 60 s of Ctrl-C; its threads:\n{err[-6000:]}")
        finally:
            if process.poll() is None:
                process.kill()
        sent = len(server.requests)
    assert process.returncode == 130 and "Traceback" not in err
    assert "runs in flight were logged as cancelled" in err
    assert sent == 2
    rows = RunStore(tmp_path / "runs.sqlite").rows()
    assert [(r["status"], r["load_level"]) for r in rows] == [("cancelled", 2), ("cancelled", 2)]
