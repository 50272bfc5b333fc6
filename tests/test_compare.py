from playground.compare import ComparePlan


def test_modes_alternate_per_repeat_so_drift_hits_both():
    plan = ComparePlan(prompts=("a", "b"), modes=("stream", "non-stream"), repeat=3)
    steps = [(s.repeat, s.prompt, s.mode) for s in plan.steps()]
    assert steps[:4] == [(0, "a", "stream"), (0, "a", "non-stream"), (0, "b", "stream"), (0, "b", "non-stream")]
    assert steps[4:6] == [(1, "a", "non-stream"), (1, "a", "stream")]
    assert steps[8:10] == [(2, "a", "stream"), (2, "a", "non-stream")]
    assert plan.run_count(pane_count=3) == 2 * 2 * 3 * 3


def test_without_modes_each_pane_keeps_its_own():
    assert [s.mode for s in ComparePlan(prompts=("a",)).steps()] == [None]
