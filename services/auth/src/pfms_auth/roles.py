"""Roles of an account (today only `admin`): granted and revoked by an operator, never over HTTP.

Access tokens carry the roles the account has when they are issued (`roles` claim). A refresh reads
them again, so a revoked role is gone from the next token, at the latest one access-token lifetime
after the revocation.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth.models import User
from pfms_platform.security import ADMIN

KNOWN = frozenset({ADMIN})
"""Roles some route checks; anything else is a typo, refused rather than granted to no effect."""


class UnknownRole(ValueError):
    pass


class UnknownAccount(LookupError):
    pass


@dataclass(frozen=True)
class Change:
    email: str
    roles: list[str]
    changed: bool


def granted(roles: list[str], role: str) -> list[str]:
    return sorted({*roles, _known(role)})


def revoked(roles: list[str], role: str) -> list[str]:
    return sorted(set(roles) - {_known(role)})


def _known(role: str) -> str:
    if role not in KNOWN:
        raise UnknownRole(f"unknown role {role!r}; known: {', '.join(sorted(KNOWN))}")
    return role


async def change(db: AsyncSession, email: str, role: str, *, grant: bool) -> Change:
    """Grant or revoke `role` on the account of `email` (a normalised address); idempotent."""
    user = await db.scalar(select(User).where(User.email == email).with_for_update())
    if user is None:
        raise UnknownAccount(f"no account with the email {email}")
    new = granted(user.roles, role) if grant else revoked(user.roles, role)
    changed = new != sorted(user.roles)
    user.roles = new
    return Change(email, new, changed)


async def holders(db: AsyncSession, role: str) -> list[str]:
    """Emails of the accounts that have `role`, for an operator's review."""
    rows = await db.scalars(select(User.email).where(User.roles.contains([_known(role)])).order_by(User.email))
    return list(rows)
