"""Requests and answers of `/api/v1/spaces`; unknown fields are refused so a typo never does nothing."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pfms_user.schemas import Email, Name
from pfms_user.spaces.rules import Grant, InvitationStatus, Kind, Role


class SpaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(description="household or business (the personal space exists already)")
    name: Name


class SpaceRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    role: Grant = Field(description="admin, member or viewer; ownership moves only by transfer")


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Grant


class Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = Field(description="An existing member, who becomes the owner; you become an admin")


class SpaceSummary(BaseModel):
    """A space as its members list it; `id` of the personal space is the user's own id."""

    id: uuid.UUID
    kind: Kind | Literal["personal"]
    name: str
    role: Role = Field(description="The caller's role in the space")
    owner_id: uuid.UUID
    version: int = Field(description="The `space_version` of the last snapshot published (0: personal)")
    created_at: datetime | None


class MemberOut(BaseModel):
    user_id: uuid.UUID
    role: Role
    joined_at: datetime | None


class SpaceDetail(SpaceSummary):
    members: list[MemberOut]


class InvitationOut(BaseModel):
    id: uuid.UUID
    space_id: uuid.UUID
    space_name: str
    role: Grant
    status: InvitationStatus
    inviter_user_id: uuid.UUID
    invitee_email: str
    invitee_user_id: uuid.UUID | None
    expires_at: datetime
    created_at: datetime
    responded_at: datetime | None
