"""Proof of a mailbox, published by auth.

`user.created` tells whether the address was verified at sign-up; this event tells when it becomes
verified later (the verification link, a password-reset link, a provider vouching for it). Consumers
that trust an address (the user service lets only a verified invitee join a space or a family) apply
it only while the address they hold for the user is the one it names, so a stale event about an
earlier address never vouches for the current one.
"""

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from pfms_contracts.base import EventData


class EmailVerified(EventData):
    exchange: ClassVar[str] = "user.events"
    type: ClassVar[str] = "user.email_verified"
    summary: ClassVar[str] = "The person proved they own their email address (link, reset or identity provider)."
    email: str = Field(description="The address that was verified, as auth holds it.")
    verified_at: datetime
