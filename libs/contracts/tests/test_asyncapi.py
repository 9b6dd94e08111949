import uuid
from datetime import UTC, datetime
from pathlib import Path

from pfms_contracts import EVENTS, EXCHANGES, CloudEvent
from pfms_contracts.asyncapi import DEFAULT_PATH, document, main, render
from pfms_contracts.identity import UserCreated


def test_checked_in_document_is_current() -> None:
    assert DEFAULT_PATH.read_text() == render(), "run `make asyncapi` and commit asyncapi.yaml"


def test_every_event_has_a_channel_on_a_known_exchange() -> None:
    doc = document()
    assert set(doc["channels"]) == set(EVENTS)
    for model in EVENTS.values():
        assert model.exchange in EXCHANGES


def test_envelope_wraps_payload_as_json() -> None:
    uid = uuid.uuid4()
    event = CloudEvent.wrap(
        "auth", UserCreated(user_id=uid, email="a@b.co", created_at=datetime.now(UTC)), correlation_id="c-1"
    )
    assert event.type == "user.created"
    assert event.subject == str(uid)
    assert event.data["user_id"] == str(uid)
    assert event.correlationid == "c-1"
    assert event.specversion == "1.0"


def test_registry_finds_every_event_class_by_type() -> None:
    from pfms_contracts import identity

    assert EVENTS["user.created"] is UserCreated
    assert EVENTS["user.family_invited"] is identity.FamilyInvited
    assert all(model.exchange in EXCHANGES for model in EVENTS.values())


def test_the_command_checks_without_writing(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text("old\n")
    assert main([str(stale), "--check"]) == 1 and stale.read_text() == "old\n"
    assert main([str(stale)]) == 0 and main([str(stale), "--check"]) == 0
