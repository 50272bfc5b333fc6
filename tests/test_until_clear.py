"""`compare --until-clear`: what a pane needs before its stream and non-stream runs can be compared."""

from playground.until_clear import mode_comparisons
from tests.fakes import record_with


def test_a_pane_is_compared_only_once_it_has_answered_in_both_modes():
    records = [
        record_with(run_id="a1", pane="both", mode="stream"),
        record_with(run_id="a2", pane="both", mode="non-stream"),
        record_with(run_id="b1", pane="stream-only", mode="stream"),
        record_with(run_id="b2", pane="stream-only", mode="non-stream", status="error", error_type="server"),
        record_with(run_id="c1", pane="none", mode="stream", status="error", error_type="unreachable"),
    ]
    comparisons, failed = mode_comparisons(records, ["both", "stream-only", "none"], metrics=("ttft_s",))
    assert [(c.a.label, c.b.label) for c in comparisons] == [("both (stream)", "both (non-stream)")]
    assert failed == {"stream-only": "no successful non-stream run", "none": "no successful run"}
