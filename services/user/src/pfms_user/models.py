"""Tables of the user service; the shared outbox and inbox come with the platform's Base.

Everything hangs off `user_profiles.user_id` (the id auth issued) with ON DELETE CASCADE, so a
profile never outlives its preferences. Enumerated columns are strings guarded by CHECK
constraints: adding a value is a one-line migration, never an ALTER TYPE.
"""

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.crypto import Encrypted
from pfms_platform.db import Base, IdMixin, TimestampMixin
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_user.domain import (
    Category,
    Channel,
    EarningSchedule,
    FamilyStatus,
    Relationship,
    RiskLevel,
    Visibility,
)

__all__ = [
    "Base",
    "DeliveryPreferences",
    "FamilyMember",
    "FinancialPreferences",
    "InboxEvent",
    "NotificationPreference",
    "OutboxEvent",
    "PrivacySettings",
    "UserProfile",
]


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def _owner() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("user_profiles.user_id", ondelete="CASCADE"), unique=True)


class UserProfile(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True, comment="From user.created, lower-cased; never logged.")
    email_verified: Mapped[bool] = mapped_column(
        server_default=text("false"), comment="From user.created / user.email_verified, for this address only."
    )
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(Encrypted())
    avatar_url: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    language: Mapped[str] = mapped_column(String(35), server_default="en")


class FinancialPreferences(IdMixin, TimestampMixin, Base):
    __tablename__ = "financial_preferences"
    __table_args__ = (
        one_of("investment_risk_level", RiskLevel),
        one_of("earning_schedule", EarningSchedule),
        CheckConstraint("salary_day BETWEEN 1 AND 31", name="salary_day_range"),
        CheckConstraint(
            "daily_budget_limit >= 0 AND monthly_budget_limit >= 0 AND savings_target >= 0", name="money_not_negative"
        ),
    )

    user_id: Mapped[uuid.UUID] = _owner()
    daily_budget_limit: Mapped[Decimal | None]
    monthly_budget_limit: Mapped[Decimal | None]
    savings_target: Mapped[Decimal | None]
    investment_risk_level: Mapped[str] = mapped_column(String(20), server_default=RiskLevel.MEDIUM.value)
    salary_day: Mapped[int | None]
    earning_schedule: Mapped[str] = mapped_column(String(20), server_default=EarningSchedule.MONTHLY.value)


class PrivacySettings(IdMixin, TimestampMixin, Base):
    __tablename__ = "privacy_settings"
    __table_args__ = (one_of("profile_visibility", Visibility),)

    user_id: Mapped[uuid.UUID] = _owner()
    profile_visibility: Mapped[str] = mapped_column(String(20), server_default=Visibility.PRIVATE.value)
    show_net_worth: Mapped[bool] = mapped_column(server_default=text("false"))
    allow_analytics: Mapped[bool] = mapped_column(server_default=text("true"))
    data_sharing: Mapped[bool] = mapped_column(server_default=text("false"))


class NotificationPreference(IdMixin, TimestampMixin, Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "channel", "category", name="uq_notification_preferences_user_channel_category"),
        one_of("channel", Channel),
        one_of("category", Category),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_profiles.user_id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(50))
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))


class DeliveryPreferences(IdMixin, TimestampMixin, Base):
    """When notifications may interrupt: quiet hours (wall-clock times in the profile's time zone) and the digest."""

    __tablename__ = "delivery_preferences"
    __table_args__ = (
        CheckConstraint("(quiet_start IS NULL) = (quiet_end IS NULL)", name="quiet_hours_both_or_neither"),
        CheckConstraint("quiet_start IS NULL OR quiet_start <> quiet_end", name="quiet_hours_not_empty"),
    )

    user_id: Mapped[uuid.UUID] = _owner()
    quiet_start: Mapped[time | None] = mapped_column(comment="Local time quiet hours begin; may be after quiet_end")
    quiet_end: Mapped[time | None]
    digest: Mapped[bool] = mapped_column(server_default=text("false"))


class FamilyMember(IdMixin, TimestampMixin, Base):
    """An invitation and, once accepted, the membership it became (one row, one id, one history)."""

    __tablename__ = "family_members"
    __table_args__ = (
        one_of("relationship", Relationship),
        one_of("status", FamilyStatus),
        # One live link per inviter and address: a second invite while one is pending or accepted is a conflict.
        Index(
            "uq_family_members_live_invite",
            "inviter_user_id",
            "invitee_email",
            unique=True,
            postgresql_where=text("status IN ('pending', 'accepted')"),
        ),
    )

    inviter_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_profiles.user_id", ondelete="CASCADE"), index=True
    )
    invitee_email: Mapped[str] = mapped_column(String(320), index=True)
    invitee_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_profiles.user_id", ondelete="CASCADE"), index=True
    )
    relationship: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), server_default=FamilyStatus.PENDING.value)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 of the link token")
    responded_at: Mapped[datetime | None]
