"""The causation chain: what a handler emits names the events that led to it."""

from datetime import UTC, datetime
from uuid import uuid4

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated
from pfms_platform.events import causation


def _event(chain: str | None = None) -> CloudEvent:
    data = UserCreated(user_id=uuid4(), email="c@example.com", created_at=datetime.now(UTC))
    return CloudEvent.wrap("test", data, causation_chain=chain)


def test_outside_a_handler_there_is_no_chain() -> None:
    assert causation.chain() == [] and causation.depth() == 0 and causation.stamp() is None


def test_the_chain_grows_by_one_per_hop_and_is_restored_after() -> None:
    first = _event()
    with causation.handling(first):
        assert causation.chain() == [first.id] and causation.depth() == 1
        second = _event(causation.stamp())
        with causation.handling(second):
            assert causation.chain() == [first.id, second.id]
            assert causation.depth() == 2
        assert causation.chain() == [first.id]
    assert causation.depth() == 0
