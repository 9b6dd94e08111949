"""Unit tests (no I/O) of the defaults a new user gets and of the family rules."""

from datetime import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_platform.errors import Conflict, Invalid
from pfms_user import domain, validation
from pfms_user.domain import Category, Channel, FamilyStatus


def test_every_channel_and_category_pair_gets_exactly_one_default() -> None:
    defaults = domain.default_notification_preferences()
    pairs = [(channel, category) for channel, category, _ in defaults]
    assert len(pairs) == len(set(pairs)) == len(Channel) * len(Category) == 36


def test_default_notification_switches() -> None:
    on = {(channel, category) for channel, category, enabled in domain.default_notification_preferences() if enabled}
    assert all((Channel.IN_APP, c) in on for c in Category)
    assert all((channel, Category.SECURITY) in on for channel in Channel), "security reaches every channel"
    assert (Channel.PUSH, Category.SYSTEM) not in on
    assert {c for ch, c in on if ch is Channel.SMS} == {Category.SECURITY}, "SMS costs money: security only"
    assert {c for ch, c in on if ch is Channel.EMAIL} == {
        Category.SECURITY,
        Category.SYSTEM,
        Category.TAX,
        Category.LOAN,
    }


def test_default_preferences_are_private_and_moderate() -> None:
    assert domain.DEFAULT_PRIVACY["profile_visibility"] == "private"
    assert domain.DEFAULT_PRIVACY["data_sharing"] is False
    assert domain.DEFAULT_PRIVACY["show_net_worth"] is False
    assert domain.DEFAULT_FINANCIAL["investment_risk_level"] == "medium"
    assert domain.DEFAULT_FINANCIAL["earning_schedule"] == "monthly"
    assert domain.DEFAULT_PROFILE == {"currency": "USD", "timezone": "UTC", "language": "en"}


def test_changed_compares_values_not_representations() -> None:
    current = {"savings_target": Decimal("100.0000"), "salary_day": 1, "currency": "USD"}
    update = {"savings_target": Decimal("100"), "salary_day": 15, "currency": "USD"}
    assert domain.changed(current, update) == {"salary_day"}


def test_nobody_invites_themselves() -> None:
    with pytest.raises(Invalid) as info:
        domain.check_invitee("ada@example.com", "ada@example.com")
    assert info.value.details == [{"field": "email", "message": "You cannot invite yourself"}]
    domain.check_invitee("ada@example.com", "bob@example.com")


def test_only_a_pending_invitation_can_be_answered() -> None:
    assert domain.respond(FamilyStatus.PENDING, accept=True) is FamilyStatus.ACCEPTED
    assert domain.respond(FamilyStatus.PENDING, accept=False) is FamilyStatus.DECLINED
    for status in (FamilyStatus.ACCEPTED, FamilyStatus.DECLINED, FamilyStatus.REMOVED):
        with pytest.raises(Conflict):
            domain.respond(status, accept=True)


def test_who_may_remove_what() -> None:
    assert domain.removable(FamilyStatus.ACCEPTED, is_inviter=True)
    assert domain.removable(FamilyStatus.ACCEPTED, is_inviter=False)
    assert domain.removable(FamilyStatus.PENDING, is_inviter=True)
    assert not domain.removable(FamilyStatus.PENDING, is_inviter=False)
    assert not domain.removable(FamilyStatus.DECLINED, is_inviter=True)
    assert not domain.removable(FamilyStatus.REMOVED, is_inviter=False)


def test_invitation_tokens_are_kept_only_as_hashes() -> None:
    token, token_hash = domain.invitation_token()
    assert len(token) >= 40 and token not in token_hash
    assert domain.token_matches(token, token_hash)
    assert not domain.token_matches(token + "x", token_hash)
    assert domain.invitation_token()[0] != token


def test_a_new_user_has_no_quiet_hours_and_no_digest() -> None:
    assert domain.DEFAULT_DELIVERY == {"quiet_start": None, "quiet_end": None, "digest": False}


def test_delivery_updates_become_columns_and_only_what_changed_is_announced() -> None:
    night = {"quiet_hours": {"start": time(22, 0), "end": time(7, 30)}}
    assert domain.delivery_columns(night) == {"quiet_start": time(22, 0), "quiet_end": time(7, 30)}
    assert domain.delivery_columns({"quiet_hours": None, "digest": True}) == {
        "quiet_start": None,
        "quiet_end": None,
        "digest": True,
    }
    assert domain.delivery_columns({}) == {}
    row = {"quiet_start": time(22, 0), "quiet_end": time(7, 30), "digest": False}
    assert domain.delivery_changes({"quiet_end"}, row) == {"quiet_hours": {"start": "22:00", "end": "07:30"}}
    assert domain.delivery_changes({"digest"}, row) == {"digest": False}
    off = {"quiet_start": None, "quiet_end": None, "digest": True}
    assert domain.delivery_changes({"quiet_start", "quiet_end", "digest"}, off) == {"quiet_hours": None, "digest": True}
    assert domain.delivery_changes(set(), row) == {}


@given(st.times(), st.times())
def test_quiet_hours_shown_parse_back_to_the_same_minutes(start: time, end: time) -> None:
    shown = domain.quiet_hours(start, end)
    assert shown is not None
    assert validation.clock(shown["start"]) == start.replace(second=0, microsecond=0)
    assert validation.clock(shown["end"]) == end.replace(second=0, microsecond=0)
    assert domain.quiet_hours(None, None) is None
