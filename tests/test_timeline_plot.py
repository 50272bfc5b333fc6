"""The token timeline figure: what it draws for runs with and without stalls."""

from matplotlib.patches import Rectangle

from playground.timeline_plot import STALL_COLOUR, TimelineSeries, timeline_figure, timeline_title


def steady(n: int, gap: float = 0.02, start: float = 0.1) -> tuple[float, ...]:
    return tuple(start + i * gap for i in range(n))


STALLED = TimelineSeries("ollama · stream", steady(8) + tuple(t + 0.6 for t in steady(12, start=0.26)), 0.1, True, 20)
STEADY = TimelineSeries("cloud · stream", steady(20), 0.1, True, 20)
WHOLE = TimelineSeries("api · non-stream", (0.5,), 0.5, False, 20)


def _stall_shades(axes) -> list:
    return [p for p in axes.patches if isinstance(p, Rectangle) and p.get_alpha() == 0.15]


def test_one_run_with_a_stall_is_titled_with_it_and_shaded_where_it_happened():
    figure = timeline_figure([STALLED])
    cumulative, spacing = figure.axes
    assert cumulative.get_title() == "Token timeline · ollama · stream · 1 stall"
    (shade,) = _stall_shades(cumulative)
    left, right = shade.get_x(), shade.get_x() + shade.get_width()
    assert abs(left - STALLED.offsets_s[7]) < 1e-9 and abs(right - STALLED.offsets_s[8]) < 1e-9
    red = [line for line in spacing.get_lines() if line.get_color() == STALL_COLOUR]
    assert [tuple(line.get_xdata()) for line in red] == [(9,)]  # the gap before the ninth chunk
    assert any(text.get_text() == "TTFT" for text in cumulative.texts)


def test_runs_of_a_batch_share_the_axes_each_labelled_pane_and_mode():
    figure = timeline_figure([STEADY, STALLED, WHOLE])
    cumulative, _ = figure.axes
    labels = [text.get_text() for text in cumulative.get_legend().get_texts()]
    assert [label.split(" (")[0] for label in labels] == ["cloud · stream", "ollama · stream", "api · non-stream"]
    assert "0 stalls" in labels[0] and "1 stall" in labels[1] and "stall" not in labels[2]
    assert cumulative.get_title() == "Token timeline · 3 runs · 1 stall"
    assert len(_stall_shades(cumulative)) == 1
    # The non-streamed answer arrives whole: one step from 0 to all its tokens at its TTFT.
    whole = next(line for line in cumulative.get_lines() if line.get_label().startswith("api"))
    assert max(whole.get_ydata()) == 20


def test_a_run_without_content_says_so_and_a_non_streamed_run_has_no_stalls():
    empty = TimelineSeries("down · stream", (), None, True, None)
    figure = timeline_figure([empty])
    assert any("No content chunks" in text.get_text() for text in figure.axes[0].texts)
    assert timeline_title([WHOLE]) == "Token timeline · api · non-stream · 0 stalls"
    assert WHOLE.stalls == [] and WHOLE.cumulative() == [0.0, 20.0]
