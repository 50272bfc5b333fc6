from playground.backends.base import ReasoningDelta, TextDelta
from playground.backends.reasoning import ThinkSplitter, split_complete


def _run(chunks: list[str], starts_in_reasoning: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(starts_in_reasoning)
    events = [e for chunk in chunks for e in splitter.feed(chunk)] + list(splitter.flush())
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    return answer, reasoning


def test_think_block_is_split_from_the_answer():
    assert _run(["<think>plan it</think>The answer."]) == ("The answer.", "plan it")


def test_tags_cut_across_chunks_are_recognised():
    chunks = ["<th", "ink>st", "ep 1</thi", "nk>", "ans", "wer <", "b>"]
    assert _run(chunks) == ("answer <b>", "step 1")


def test_template_that_opens_the_block_in_the_prompt():
    assert _run(["reasoning here</think>final"], starts_in_reasoning=True) == ("final", "reasoning here")


def test_text_without_tags_is_all_answer_and_a_lone_angle_bracket_survives():
    assert _run(["a < b and ", "c <"]) == ("a < b and c <", "")


def test_split_complete_matches_streaming():
    text = "<think>why</think>because"
    assert split_complete(text) == ("because", "why")
