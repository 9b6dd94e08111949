"""Pure rules of spaces: who may do what to whom, who inherits a space, how the list pages. No I/O."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pfms_platform.errors import Conflict, Forbidden, Invalid
from pfms_platform.spaces import allows

INVITATION_TTL = timedelta(days=7)
PERSONAL_NAME = "Personal"


class Kind(StrEnum):
    HOUSEHOLD = "household"
    BUSINESS = "business"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Grant(StrEnum):
    """The roles that can be given by invitation or role change; ownership moves only by transfer."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Seat:
    """A member as succession sees them."""

    user_id: uuid.UUID
    role: str
    joined_at: datetime


def require_manager(role: str) -> None:
    """Renaming, inviting, changing roles and removing members need admin or owner."""
    if not allows(role, "manage"):
        raise Forbidden(f"A {role} of this space may not manage it; an admin or the owner can")


def require_owner(role: str, action: str) -> None:
    if role != Role.OWNER:
        raise Forbidden(f"Only the owner may {action}; you are a {role} of this space")


def check_role_change(actor: str, target: str, new_role: str) -> None:
    """Managers change roles; nobody but the owner touches the owner (whose role moves only by transfer)."""
    require_manager(actor)
    if target == Role.OWNER:
        raise Forbidden("The owner's role changes only by transferring ownership")
    if new_role == Role.OWNER:
        raise Invalid("Ownership moves by POST /api/v1/spaces/{id}/transfer", field="role")


def check_removal(actor: str, target: str) -> None:
    """Managers remove members; the owner cannot be removed (they transfer or delete the space)."""
    require_manager(actor)
    if target == Role.OWNER:
        raise Forbidden("The owner cannot be removed; they transfer ownership or delete the space")


def check_leave(role: str) -> None:
    if role == Role.OWNER:
        raise Conflict("The owner cannot leave; transfer ownership first, or delete the space")


def check_transfer(actor: str, me: uuid.UUID, to: uuid.UUID) -> None:
    require_owner(actor, "transfer ownership")
    if to == me:
        raise Invalid("You already own this space", field="user_id")


def successor(seats: list[Seat], leaving: uuid.UUID) -> uuid.UUID | None:
    """Who inherits a space whose owner's account is deleted: the longest-standing admin, else member.

    Viewers never inherit (they could not even write); with nobody eligible the space is deleted.
    """
    for role in (Role.ADMIN, Role.MEMBER):
        eligible = sorted((s for s in seats if s.role == role and s.user_id != leaving), key=_seniority)
        if eligible:
            return eligible[0].user_id
    return None


def _seniority(seat: Seat) -> tuple[datetime, str]:
    return seat.joined_at, str(seat.user_id)


def respond(status: str, *, expires_at: datetime, now: datetime, accept: bool) -> InvitationStatus:
    """A pending invitation is answered once, before it expires (declining an expired one is harmless)."""
    if status != InvitationStatus.PENDING:
        raise Conflict(f"Invitation is already {status}")
    if accept and now >= expires_at:
        raise Conflict("Invitation has expired; ask for a new one")
    return InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED


@dataclass(frozen=True)
class Window:
    """One page of "my spaces", where the personal space comes first and the shared ones follow."""

    personal: bool
    offset: int
    limit: int


def window(page: int, limit: int) -> Window:
    start = (page - 1) * limit
    if start == 0:
        return Window(personal=True, offset=0, limit=limit - 1)
    return Window(personal=False, offset=start - 1, limit=limit)
