"""Events of shared spaces (households, businesses), owned by the user service.

`space.membership_changed` carries the whole membership of a space, so consumers never rebuild it
from deltas: they replace their copy when `space_version` is newer than the one they hold and ignore the
rest, which makes the handler idempotent and immune to reordering (pfms_platform.spaces).
"""

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pfms_contracts.base import EventData

SpaceKind = Literal["household", "business"]
SpaceRole = Literal["owner", "admin", "member", "viewer"]


class SpaceMember(BaseModel):
    """One person in a space and what they may do there."""

    model_config = ConfigDict(extra="allow", frozen=True)

    user_id: UUID
    role: SpaceRole


class SpaceMembershipChanged(EventData):
    exchange: ClassVar[str] = "user.events"
    type: ClassVar[str] = "space.membership_changed"
    summary: ClassVar[str] = (
        "The full membership of a space after any change (created, joined, role changed, removed, left, "
        "ownership transferred, deleted); keep the newest `space_version` per space."
    )

    user_id: UUID = Field(description="The space's owner (the one who owned it before a deletion).")
    space_id: UUID
    kind: SpaceKind
    name: str
    space_version: int = Field(
        ge=1,
        description="Strictly increasing per space; apply only a newer one. (Not `version`: that names the "
        "event schema's version on every event.)",
    )
    deleted: bool = Field(default=False, description="The space is gone: drop its members and its data.")
    members: list[SpaceMember] = Field(description="Everyone in the space now (empty when deleted).")


class SpaceInvitationCreated(EventData):
    exchange: ClassVar[str] = "user.events"
    type: ClassVar[str] = "space.invitation_created"
    summary: ClassVar[str] = "Someone was invited into a space by email; notify the invitee."

    user_id: UUID = Field(description="Who invited (the record is theirs; the invitee may have no account yet).")
    invitation_id: UUID
    space_id: UUID
    space_name: str
    role: SpaceRole
    invitee_email: str
    token: str | None = Field(
        default=None, description="Single-use secret for the accept link; the invitee presents it with the id."
    )
