from playground.backends.base import AnswerWasReasoning, ReasoningDelta
from playground.backends.reasoning import ThinkSplitter, split_complete


def _run(chunks: list[str], starts_in_reasoning: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(starts_in_reasoning)
    answer: list[str] = []
    reasoning: list[str] = []
    for event in [e for chunk in chunks for e in splitter.feed(chunk)] + list(splitter.flush()):
        if isinstance(event, AnswerWasReasoning):
            reasoning[:0], answer[:] = answer, []
        else:
            (reasoning if isinstance(event, ReasoningDelta) else answer).append(event.text)
    return "".join(answer), "".join(reasoning)


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


def test_a_lone_closing_tag_makes_the_text_before_it_reasoning():
    # QwQ / R1-distill / Qwen3-Thinking templates open <think> in the prompt: the output has only </think>.
    assert _run(["first I ", "check</th", "ink>", "The answer."]) == ("The answer.", "first I check")
    assert split_complete("weigh it</think>\n\nYes.") == ("\n\nYes.", "weigh it")


def test_a_closing_tag_after_a_full_block_stays_answer_text():
    assert _run(["<think>a</think>b", " </think> c"]) == ("b </think> c", "a")


def test_a_caller_that_rendered_the_prompt_keeps_a_lone_closing_tag_as_text():
    splitter = ThinkSplitter(prompt_known=True)
    events = [*splitter.feed("a</think>b"), *splitter.flush()]
    assert [(type(e).__name__, e.text) for e in events] == [("TextDelta", "a</think>b")]
    assert split_complete("a</think>b", prompt_known=True) == ("a</think>b", "")
