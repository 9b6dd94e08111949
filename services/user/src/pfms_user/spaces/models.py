"""Tables of spaces, their members and their invitations (the source of truth the snapshots come from).

Named apart from the platform's read model (`space_members`, `space_versions`): every service maps
onto one Base, so table names are unique fleet-wide.
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow


class Space(IdMixin, TimestampMixin, Base):
    """A shared space; `version` counts its published snapshots, `deleted_at` marks one that is gone."""

    __tablename__ = "spaces"
    __table_args__ = (
        CheckConstraint("kind IN ('household', 'business')", name="kind_allowed"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(server_default=text("1"))
    deleted_at: Mapped[datetime | None]


class Member(Base):
    """One person in one space; `joined_at` orders succession when an owner's account is deleted."""

    __tablename__ = "space_memberships"
    __table_args__ = (CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name="role_allowed"),)

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Invitation(IdMixin, TimestampMixin, Base):
    """An invitation by email into a space, answered once by whoever has that address on their profile."""

    __tablename__ = "space_invitations"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'member', 'viewer')", name="role_allowed"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined', 'revoked')", name="status_allowed"),
        # One pending invitation per space and address: a second one while it is open is a conflict.
        Index(
            "uq_space_invitations_pending",
            "space_id",
            "invitee_email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    inviter_user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    invitee_email: Mapped[str] = mapped_column(String(320), index=True)
    invitee_user_id: Mapped[uuid.UUID | None]
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 of the link token")
    expires_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]
