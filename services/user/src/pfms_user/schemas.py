"""Request and response models: the public contract of the user service.

Updates are partial: only the fields present in the body change; `null` clears an optional field;
unknown fields are refused (422) so a typo never silently does nothing.
"""

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from pfms_user import validation
from pfms_user.domain import (
    Category,
    Channel,
    EarningSchedule,
    FamilyStatus,
    Relationship,
    RiskLevel,
    Visibility,
)

CENT = Decimal("0.01")


def _past_birth_date(value: date) -> date:
    return validation.date_of_birth(value, today=datetime.now(UTC).date())


Currency = Annotated[str, AfterValidator(validation.currency)]
TimeZone = Annotated[str, AfterValidator(validation.timezone)]
Language = Annotated[str, AfterValidator(validation.language)]
Phone = Annotated[str, AfterValidator(validation.phone)]
Name = Annotated[str, AfterValidator(validation.name)]
AvatarUrl = Annotated[str, AfterValidator(validation.avatar_url)]
BirthDate = Annotated[date, AfterValidator(_past_birth_date)]
Email = Annotated[str, Field(max_length=320), AfterValidator(validation.email)]
MoneyIn = Annotated[Decimal, AfterValidator(validation.money)]
MoneyOut = Annotated[
    Decimal, PlainSerializer(lambda v: str(v.quantize(CENT)), return_type=str, when_used="json-unless-none")
]
"""Stored as NUMERIC(19,4), shown as a decimal string with two places: "1500.00"."""
SalaryDay = Annotated[int, Field(ge=1, le=31)]
Clock = Annotated[
    time,
    BeforeValidator(validation.clock),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["22:00"]}),
]
"""`"22:00"` in (a JSON string, nothing else), a `time` for the column."""


class Update(BaseModel):
    """Base of every PUT body: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, as Python values for the columns."""
        return self.model_dump(exclude_unset=True)


def _refuse_null(value: Any) -> Any:
    """For fields a person may change but not clear (the profile needs a currency)."""
    if value is None:
        raise ValueError("may not be null")
    return value


class ProfileUpdate(Update):
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None
    avatar_url: AvatarUrl | None = None
    date_of_birth: BirthDate | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    language: Language | None = None

    _required = field_validator("currency", "timezone", "language", mode="before")(_refuse_null)


class Profile(BaseModel):
    user_id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    avatar_url: str | None
    date_of_birth: date | None
    currency: str
    timezone: str
    language: str
    created_at: datetime
    updated_at: datetime


class Person(BaseModel):
    """Who an email belongs to, as other services may see it (`/internal/v1/users/lookup`)."""

    user_id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None


class FinancialUpdate(Update):
    daily_budget_limit: MoneyIn | None = None
    monthly_budget_limit: MoneyIn | None = None
    savings_target: MoneyIn | None = None
    investment_risk_level: RiskLevel | None = None
    salary_day: SalaryDay | None = None
    earning_schedule: EarningSchedule | None = None

    _required = field_validator("investment_risk_level", "earning_schedule", mode="before")(_refuse_null)


class Financial(BaseModel):
    daily_budget_limit: MoneyOut | None
    monthly_budget_limit: MoneyOut | None
    savings_target: MoneyOut | None
    investment_risk_level: RiskLevel
    salary_day: int | None
    earning_schedule: EarningSchedule
    updated_at: datetime


class PrivacyUpdate(Update):
    profile_visibility: Visibility | None = None
    show_net_worth: StrictBool | None = None
    allow_analytics: StrictBool | None = None
    data_sharing: StrictBool | None = None

    _required = field_validator(
        "profile_visibility", "show_net_worth", "allow_analytics", "data_sharing", mode="before"
    )(_refuse_null)


class Privacy(BaseModel):
    profile_visibility: Visibility
    show_net_worth: bool
    allow_analytics: bool
    data_sharing: bool
    updated_at: datetime


class NotificationSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    category: Category
    enabled: StrictBool


NotificationUpdates = Annotated[list[NotificationSetting], Field(min_length=1, max_length=len(Channel) * len(Category))]


class QuietHours(BaseModel):
    """Both ends, always: the pair is set or cleared (`null`) as one."""

    model_config = ConfigDict(extra="forbid")

    start: Clock = Field(description="Local time quiet hours begin, HH:MM (24-hour)", examples=["22:00"])
    end: Clock = Field(description="Local time they end, HH:MM; before `start` means the next day", examples=["07:00"])

    @field_validator("end")
    @classmethod
    def _not_empty(cls, end: time, info: ValidationInfo) -> time:
        if info.data.get("start") == end:
            raise ValueError("must differ from start (send quiet_hours: null to turn them off)")
        return end


class DeliveryUpdate(Update):
    quiet_hours: QuietHours | None = Field(default=None, description="null turns quiet hours off")
    digest: StrictBool | None = Field(
        default=None, description="Hold low-priority notifications that fall in quiet hours for a daily digest mail"
    )

    _required = field_validator("digest", mode="before")(_refuse_null)


class QuietHoursOut(BaseModel):
    start: str = Field(examples=["22:00"])
    end: str = Field(examples=["07:00"])


class Delivery(BaseModel):
    quiet_hours: QuietHoursOut | None = Field(description="In the profile's time zone; null when off")
    digest: bool
    updated_at: datetime


class FamilyInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    relationship: Relationship


class FamilyEntry(BaseModel):
    """One invitation or membership, seen from the caller's side (`direction`)."""

    id: uuid.UUID
    direction: Literal["sent", "received"] = Field(description="sent: I invited them; received: they invited me")
    relationship: Relationship
    status: FamilyStatus
    inviter_user_id: uuid.UUID
    invitee_email: str
    invitee_user_id: uuid.UUID | None
    created_at: datetime
    responded_at: datetime | None


class Family(BaseModel):
    members: list[FamilyEntry] = Field(description="Accepted links, whichever side invited.")
    invitations_sent: list[FamilyEntry] = Field(description="Pending invitations I sent.")
    invitations_received: list[FamilyEntry] = Field(description="Pending invitations to my email address.")
