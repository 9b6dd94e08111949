"""Pure rules of the user service: the vocabularies, the defaults a new user gets, family transitions."""

import hashlib
import hmac
import secrets
from datetime import time
from enum import StrEnum
from typing import Any

from pfms_platform.errors import Conflict, Invalid


class Channel(StrEnum):
    PUSH = "push"
    EMAIL = "email"
    SMS = "sms"
    IN_APP = "in_app"


class Category(StrEnum):
    EXPENSE = "expense"
    INCOME = "income"
    INVESTMENT = "investment"
    LOAN = "loan"
    GROUP = "group"
    TAX = "tax"
    SAVINGS = "savings"
    SECURITY = "security"
    SYSTEM = "system"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class EarningSchedule(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    SEMIMONTHLY = "semimonthly"
    MONTHLY = "monthly"
    IRREGULAR = "irregular"


class Visibility(StrEnum):
    PRIVATE = "private"
    FAMILY = "family"
    PUBLIC = "public"


class Relationship(StrEnum):
    SPOUSE = "spouse"
    PARTNER = "partner"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER = "other"


class FamilyStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REMOVED = "removed"


DEFAULT_PROFILE: dict[str, Any] = {"currency": "USD", "timezone": "UTC", "language": "en"}

DEFAULT_FINANCIAL: dict[str, Any] = {
    "daily_budget_limit": None,
    "monthly_budget_limit": None,
    "savings_target": None,
    "investment_risk_level": RiskLevel.MEDIUM,
    "salary_day": None,
    "earning_schedule": EarningSchedule.MONTHLY,
}

# Private until the person says otherwise; first-party analytics on (it powers their own insights).
DEFAULT_PRIVACY: dict[str, Any] = {
    "profile_visibility": Visibility.PRIVATE,
    "show_net_worth": False,
    "allow_analytics": True,
    "data_sharing": False,
}

# Quiet hours off, no digest: nothing is held back until the person asks for it.
DEFAULT_DELIVERY: dict[str, Any] = {"quiet_start": None, "quiet_end": None, "digest": False}

# What each channel carries out of the box: in-app gets everything; push everything but system news;
# email only what must not be missed (security, system notices, tax deadlines, loan dues); SMS costs
# money and interrupts, so only security.
_DEFAULT_ON: dict[Channel, frozenset[Category]] = {
    Channel.IN_APP: frozenset(Category),
    Channel.PUSH: frozenset(Category) - {Category.SYSTEM},
    Channel.EMAIL: frozenset({Category.SECURITY, Category.SYSTEM, Category.TAX, Category.LOAN}),
    Channel.SMS: frozenset({Category.SECURITY}),
}


def default_notification_preferences() -> list[tuple[Channel, Category, bool]]:
    """One (channel, category, enabled) per pair, so every pair exists and a PUT only flips flags."""
    return [(channel, category, category in _DEFAULT_ON[channel]) for channel in Channel for category in Category]


def changed(current: dict[str, Any], update: dict[str, Any]) -> set[str]:
    """The keys of `update` whose value differs from `current` (Decimal 1.5 equals 1.5000)."""
    return {key for key, value in update.items() if current.get(key) != value}


def delivery_columns(update: dict[str, Any]) -> dict[str, Any]:
    """A delivery update (`quiet_hours: {start, end} | None`, `digest`) as the row's columns."""
    columns: dict[str, Any] = {}
    if "quiet_hours" in update:
        quiet = update["quiet_hours"]
        columns["quiet_start"], columns["quiet_end"] = (quiet["start"], quiet["end"]) if quiet else (None, None)
    if "digest" in update:
        columns["digest"] = update["digest"]
    return columns


def quiet_hours(start: time | None, end: time | None) -> dict[str, str] | None:
    """Quiet hours as the API and `user.updated` show them: `{"start": "22:00", "end": "07:00"}`, or None when off."""
    if start is None or end is None:
        return None
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


def delivery_changes(changed_columns: set[str], columns: dict[str, Any]) -> dict[str, Any]:
    """What `user.updated` (section notifications) announces for the changed columns: the new quiet hours
    as a pair (or null) and/or the digest choice."""
    changes: dict[str, Any] = {}
    if changed_columns & {"quiet_start", "quiet_end"}:
        changes["quiet_hours"] = quiet_hours(columns["quiet_start"], columns["quiet_end"])
    if "digest" in changed_columns:
        changes["digest"] = columns["digest"]
    return changes


def check_invitee(inviter_email: str, invitee_email: str) -> None:
    if inviter_email == invitee_email:
        raise Invalid("You cannot invite yourself", field="email")


def respond(status: FamilyStatus, *, accept: bool) -> FamilyStatus:
    """Only a pending invitation can be answered, and only once."""
    if status is not FamilyStatus.PENDING:
        raise Conflict(f"Invitation is already {status.value}")
    return FamilyStatus.ACCEPTED if accept else FamilyStatus.DECLINED


def removable(status: FamilyStatus, *, is_inviter: bool) -> bool:
    """The inviter may withdraw a pending invitation or end a membership; the invitee may leave."""
    if status is FamilyStatus.ACCEPTED:
        return True
    return status is FamilyStatus.PENDING and is_inviter


def invitation_token() -> tuple[str, str]:
    """A link secret for the invitee's mailbox and the SHA-256 we keep instead of it."""
    token = secrets.token_urlsafe(32)
    return token, _sha256(token)


def token_matches(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(_sha256(token), token_hash)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
