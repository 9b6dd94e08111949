"""Unit tests (no I/O) of the space rules: who may do what to whom, succession, the list's pages."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_platform.errors import Conflict, Forbidden, Invalid
from pfms_user.spaces import rules
from pfms_user.spaces.rules import InvitationStatus, Seat

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
ROLES = ("owner", "admin", "member", "viewer")


@pytest.mark.parametrize("actor", ROLES)
def test_only_admins_and_the_owner_manage_and_nobody_touches_the_owner(actor: str) -> None:
    manages = actor in ("owner", "admin")
    for target in ROLES:
        for new in ("admin", "member", "viewer"):
            if manages and target != "owner":
                rules.check_role_change(actor, target, new)
                rules.check_removal(actor, target)
                continue
            with pytest.raises(Forbidden) as refused:
                rules.check_role_change(actor, target, new)
            assert refused.value.status_code == 403
            with pytest.raises(Forbidden):
                rules.check_removal(actor, target)
    if manages:
        with pytest.raises(Invalid) as invalid:
            rules.check_role_change(actor, "member", "owner")
        assert invalid.value.details[0]["field"] == "role"


def test_managing_names_the_callers_role_and_only_the_owner_transfers() -> None:
    with pytest.raises(Forbidden, match="viewer"):
        rules.require_manager("viewer")
    me, other = uuid.uuid4(), uuid.uuid4()
    rules.check_transfer("owner", me, other)
    for role in ("admin", "member", "viewer"):
        with pytest.raises(Forbidden, match=role):
            rules.check_transfer(role, me, other)
    with pytest.raises(Invalid):
        rules.check_transfer("owner", me, me)


def test_everyone_but_the_owner_may_leave() -> None:
    for role in ("admin", "member", "viewer"):
        rules.check_leave(role)
    with pytest.raises(Conflict):
        rules.check_leave("owner")


def test_succession_prefers_the_longest_standing_admin_then_member_never_a_viewer() -> None:
    owner, early, late, member, viewer = (uuid.uuid4() for _ in range(5))
    day = timedelta(days=1)

    def seats(*rows: tuple[uuid.UUID, str, int]) -> list[Seat]:
        return [Seat(user, role, NOW + day * n) for user, role, n in rows]

    everyone = seats(
        (owner, "owner", 0), (viewer, "viewer", 1), (member, "member", 2), (late, "admin", 4), (early, "admin", 3)
    )
    assert rules.successor(everyone, owner) == early
    assert rules.successor(seats((owner, "owner", 0), (viewer, "viewer", 1), (member, "member", 5)), owner) == member
    assert rules.successor(seats((owner, "owner", 0), (viewer, "viewer", 1)), owner) is None
    assert rules.successor(seats((owner, "owner", 0)), owner) is None


def test_an_invitation_is_answered_once_and_accepted_only_before_it_expires() -> None:
    later = NOW + timedelta(hours=1)
    assert rules.respond("pending", expires_at=later, now=NOW, accept=True) is InvitationStatus.ACCEPTED
    assert rules.respond("pending", expires_at=later, now=NOW, accept=False) is InvitationStatus.DECLINED
    assert rules.respond("pending", expires_at=NOW, now=later, accept=False) is InvitationStatus.DECLINED
    with pytest.raises(Conflict, match="expired"):
        rules.respond("pending", expires_at=NOW, now=NOW, accept=True)
    for status in ("accepted", "declined", "revoked"):
        with pytest.raises(Conflict, match=status):
            rules.respond(status, expires_at=later, now=NOW, accept=True)


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=100))
def test_pages_show_the_personal_space_then_every_shared_one_exactly_once(shared: int, limit: int) -> None:
    """Walking the pages of [personal] + shared spaces yields each item once, in order."""
    items = ["personal", *range(shared)]
    seen: list[object] = []
    for page in range(1, len(items) // limit + 2):
        w = rules.window(page, limit)
        chunk = (["personal"] if w.personal else []) + list(range(shared))[w.offset : w.offset + max(w.limit, 0)]
        assert len(chunk) <= limit
        seen += chunk
    assert seen == items
