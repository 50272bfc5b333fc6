from types import SimpleNamespace

from playground.backends.base import Message
from playground.ui.session import Conversation, SessionRegistry, Turn, step_modes


def test_sessions_are_created_on_demand_and_freed_on_unload():
    registry = SessionRegistry(["a", "b"])
    first = registry.get("s1")
    assert registry.get("s1") is first and set(first.conversations) == {"a", "b"}
    registry.get("s2")
    registry.free("s1")
    assert len(registry) == 1
    assert registry.get("s1") is not first


def test_both_modes_alternate_their_order_per_turn():
    assert step_modes(["stream", "non-stream"], both=False, turn_number=0) == [["stream", "non-stream"]]
    assert step_modes(["stream"], both=True, turn_number=0) == [["stream"], ["non-stream"]]
    assert step_modes(["stream"], both=True, turn_number=1) == [["non-stream"], ["stream"]]


def test_a_failed_turn_is_shown_but_not_sent_as_history_and_regenerate_drops_it():
    conversation = Conversation()
    conversation.commit("q1", "a1", [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}])
    conversation.commit("q2", None, [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "⚠️ down"}])
    assert conversation.history == [Message("user", "q1"), Message("assistant", "a1")]
    assert len(conversation.display) == 4
    conversation.drop_last_turn()
    assert [m["content"] for m in conversation.display] == ["q1", "a1"]
    assert conversation.history == [Message("user", "q1"), Message("assistant", "a1")]


def test_the_chat_shows_the_last_turns_after_a_note_and_the_model_gets_them_all():
    conversation = Conversation()
    for turn in range(5):
        shown = [{"role": "user", "content": f"q{turn}"}, {"role": "assistant", "content": f"a{turn}"}]
        conversation.commit(f"q{turn}", f"a{turn}", shown)
    recent = conversation.recent_display(2)
    assert recent[0]["content"].startswith("⋯ 3 earlier turns not shown here")
    assert [m["content"] for m in recent[1:]] == ["q3", "a3", "q4", "a4"]
    assert conversation.recent_display(5) == conversation.display
    assert len(conversation.history) == 10


def test_long_answers_leave_fewer_turns_in_the_chat_but_the_last_one_always():
    conversation = Conversation()
    for turn in range(4):
        answer = f"a{turn}" + "x" * 998
        shown = [{"role": "user", "content": f"q{turn}"}, {"role": "assistant", "content": answer}]
        conversation.commit(f"q{turn}", answer, shown)
    recent = conversation.recent_display(20, max_characters=2_100)
    assert recent[0]["content"].startswith("⋯ 2 earlier turns not shown here")
    assert [m["content"][:2] for m in recent[1:]] == ["q2", "a2", "q3", "a3"]
    only_last = conversation.recent_display(20, max_characters=10)
    assert [m["content"][:2] for m in only_last[1:]] == ["q3", "a3"]
    assert conversation.recent_display(20, max_characters=10_000) == conversation.display


class _InstantRunner:
    """Runs nothing: every step's batch has ended at once."""

    def start(self, jobs, batch_id=None):
        return SimpleNamespace(wait=lambda: [], by_pane=lambda: {}, cancel=lambda: None)


def _turn(*pane_names: str) -> Turn:
    jobs = [SimpleNamespace(pane=SimpleNamespace(name=name)) for name in pane_names]
    turn = Turn("hi", [jobs], _InstantRunner(), on_done=lambda records: None)
    turn.start()
    assert turn.wait_done(10)
    return turn


def test_one_call_completes_a_turns_end_on_the_page_once_every_pane_has_shown_its_end():
    turn = _turn("a", "b")
    assert turn.show_end("a") is False
    assert turn.show_end("b") is True  # the plot, CSV and buttons are written once
    assert turn.show_end("a") is False and turn.show_end("b") is False
