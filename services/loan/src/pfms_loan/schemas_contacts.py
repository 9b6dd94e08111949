"""Request and response models of contacts and contact groups."""

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field, StringConstraints, field_validator, model_validator

from pfms_loan.domain import ContactType
from pfms_loan.schemas_common import Body, Label, Metadata, Name, Text, refuse_null
from pfms_platform.envelope import PageParams

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{4,20}$", max_length=20)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://", max_length=2000)]


class _ContactFields(Body):
    name: Name | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Text | None = None
    nickname: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    relationship: Label | None = Field(default=None, description="friend, family, colleague, business, ...")
    notes: Text | None = None
    avatar_url: Url | None = None
    is_favorite: bool = False
    is_blocked: bool = False
    metadata: Metadata = Field(default_factory=dict)


class ContactCreate(_ContactFields):
    """An app user (give `linked_user_id`, or `email` to look them up) or an external person (give `name`)."""

    contact_type: ContactType
    linked_user_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _identity(self) -> "ContactCreate":
        if self.contact_type is ContactType.EXTERNAL and not self.name:
            raise ValueError("an external contact needs a name")
        if self.contact_type is ContactType.APP_USER and not (self.linked_user_id or self.email):
            raise ValueError("an app-user contact needs linked_user_id or email")
        if self.contact_type is ContactType.EXTERNAL and self.linked_user_id:
            raise ValueError("an external contact has no linked_user_id")
        return self


class ContactUpdate(_ContactFields):
    is_favorite: bool = False
    is_blocked: bool = False
    metadata: Metadata = Field(default_factory=dict)

    _required = field_validator("is_favorite", "is_blocked", "metadata", mode="before")(refuse_null)


class Contact(BaseModel):
    id: uuid.UUID
    contact_type: ContactType
    linked_user_id: uuid.UUID | None
    name: str | None
    display_name: str = Field(description="Nickname, else name, else email")
    phone: str | None
    email: str | None
    address: str | None
    nickname: str | None
    relationship: str | None
    notes: str | None
    avatar_url: str | None
    is_favorite: bool
    is_blocked: bool
    metadata: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactFilters(PageParams):
    contact_type: ContactType | None = None
    favorite: bool | None = None
    blocked: bool | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        default=None,
        description="Matches part of the name or nickname (case-insensitive), or a whole email or phone "
        "(they are stored encrypted, so only exact matches are found)",
    )


class GroupCreate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    description: Text | None = None
    color: Color | None = None


class GroupUpdate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    description: Text | None = None
    color: Color | None = None

    _required = field_validator("name", mode="before")(refuse_null)


class Group(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    color: str | None
    contact_ids: list[uuid.UUID]
    created_at: dt.datetime
