"""Events of the auth and user services."""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData


class _UserEvent(EventData):
    exchange: ClassVar[str] = "user.events"


class UserCreated(_UserEvent):
    type: ClassVar[str] = "user.created"
    summary: ClassVar[str] = "A person registered; services create their per-user defaults."
    email: str
    email_verified: bool = False
    created_at: datetime


class UserUpdated(_UserEvent):
    type: ClassVar[str] = "user.updated"
    summary: ClassVar[str] = "Profile or preferences changed; `changes` holds the new values by section."
    section: str = Field(description="profile | financial | privacy | notifications")
    changes: dict[str, Any]


class UserDeleted(_UserEvent):
    type: ClassVar[str] = "user.deleted"
    summary: ClassVar[str] = "The account was deleted; every service purges the user's data."
    deleted_at: datetime


class EmailVerificationRequested(_UserEvent):
    type: ClassVar[str] = "auth.email_verification_requested"
    summary: ClassVar[str] = "Send the person a link to verify their email address."
    email: str
    token: str = Field(description="Single-use verification token to put in the link.")
    expires_at: datetime


class PasswordResetRequested(_UserEvent):
    type: ClassVar[str] = "auth.password_reset_requested"
    summary: ClassVar[str] = "Send the person a password-reset link (single use, 30 minutes)."
    email: str
    token: str
    expires_at: datetime


class FamilyInvited(_UserEvent):
    type: ClassVar[str] = "user.family_invited"
    summary: ClassVar[str] = "A user invited someone into their family; notify the invitee."
    invitation_id: UUID
    invitee_email: str
    relationship: str
    token: str | None = Field(
        default=None, description="Single-use secret for the accept link; the invitee presents it with the id."
    )
