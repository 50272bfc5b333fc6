"""A closer look at one run: its whole record and the timelines of it and its batch, from the run log."""

from playground.records import COLUMNS
from playground.store import RunStore
from playground.ui.run_details import RunDetails
from tests.fakes import record_with

STEADY = [0.1 + 0.02 * i for i in range(20)]
STALLED = STEADY[:8] + [t + 0.6 for t in STEADY[8:]]


def _store(tmp_path) -> RunStore:
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="a", batch_id="one", pane="cloud", content_chunks=20), STEADY)
    store.add(record_with(run_id="b", batch_id="one", pane="ollama", stalls=1, content_chunks=20, output_tokens=20), STALLED)
    store.add(record_with(run_id="c", batch_id="two", pane="cloud"), STEADY)
    store.add(record_with(run_id="d", batch_id="one", session_id="someone-else"), STEADY)
    return store


def test_the_record_shows_every_column_in_the_logs_order(tmp_path):
    details = RunDetails(_store(tmp_path))
    row = details.row("b", "s")
    frame = details.record_frame(row)
    assert list(frame["column"]) == list(COLUMNS)
    shown = dict(zip(frame["column"], frame["value"], strict=True))
    assert (shown["run_id"], shown["pane"], shown["stalls"], shown["load_level"]) == ("b", "ollama", "1", "")
    assert "ollama · stream" in details.title(row) and "1 stall" in details.title(row)


def test_a_batch_is_its_runs_of_the_same_session_and_their_timelines_share_one_plot(tmp_path):
    details = RunDetails(_store(tmp_path))
    batch = details.batch_rows("b", "s")
    assert [row["run_id"] for row in batch] == ["a", "b"]
    figure = details.figure(batch)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert [label.split(" (")[0] for label in labels] == ["cloud · stream", "ollama · stream"]
    assert figure.axes[0].get_title() == "Token timeline · 2 runs · 1 stall"


def test_another_sessions_run_is_not_shown(tmp_path):
    details = RunDetails(_store(tmp_path))
    assert details.row("d", "s") is None and details.batch_rows("d", "s") == []
    assert details.row("d", "someone-else")["run_id"] == "d"
