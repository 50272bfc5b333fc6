from playground.backends.base import Message
from playground.ui.session import Conversation, SessionRegistry, step_modes


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
