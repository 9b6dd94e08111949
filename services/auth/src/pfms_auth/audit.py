"""The audit log: sensitive operations on an account, recorded where they happen and read by the owner.

A success is written in the transaction of the change it records, so the log never claims a change
that rolled back. A failure (wrong password, wrong code) is answered with an error, which rolls the
request's transaction back, so it is written in a short transaction of its own.

`details` carries ids and reasons only: no password, token, code or secret ever goes in.
"""

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth.models import AuditEvent, User
from pfms_auth.sessions import Device

_USER_AGENT_MAX = 256


class Action(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_REVOKED = "session_revoked"
    MFA_ENABLED = "mfa_enabled"
    MFA_DISABLED = "mfa_disabled"
    MFA_BACKUP_CODE_USED = "mfa_backup_code_used"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    PASSWORD_SET = "password_set"
    ACCOUNT_DELETION_REQUESTED = "account_deletion_requested"
    DATA_EXPORT_REQUESTED = "data_export_requested"
    PROVIDER_LINKED = "provider_linked"
    PROVIDER_UNLINKED = "provider_unlinked"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


def _values(
    user_id: uuid.UUID, action: Action, outcome: Outcome, device: Device | None, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "action": action.value,
        "outcome": outcome.value,
        "ip": device.ip if device else None,
        "user_agent": device.user_agent[:_USER_AGENT_MAX] if device and device.user_agent else None,
        "details": details,
    }


async def record(
    db: AsyncSession,
    user_id: uuid.UUID,
    action: Action,
    device: Device | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    **details: Any,
) -> None:
    """Add an entry in the caller's transaction (it commits or rolls back with the change)."""
    db.add(AuditEvent(**_values(user_id, action, outcome, device, details)))


async def record_failure(
    db: AsyncSession, user_id: uuid.UUID, action: Action, device: Device | None = None, **details: Any
) -> None:
    """Add a failure entry in its own transaction: the request's is about to roll back with the error."""
    assert db.bind is not None
    async with AsyncSession(db.bind) as own, own.begin():
        await record(own, user_id, action, device, Outcome.FAILURE, **details)


async def record_if_user(db: AsyncSession, user_id: uuid.UUID, action: Action, **details: Any) -> None:
    """For events of other services: an entry only while the account exists (a late event about a
    deleted user must not leave a row behind)."""
    values = _values(user_id, action, Outcome.SUCCESS, None, details)
    columns = list(values)
    selected = select(*(literal(values[c], type_=AuditEvent.__table__.c[c].type) for c in columns)).where(
        exists().where(User.id == user_id)
    )
    await db.execute(insert(AuditEvent).from_select(columns, selected))


async def page(
    db: AsyncSession, user_id: uuid.UUID, action: Action | None, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """The user's entries, newest first."""
    where = [AuditEvent.user_id == user_id]
    if action is not None:
        where.append(AuditEvent.action == action.value)
    total = await db.scalar(select(func.count()).select_from(AuditEvent).where(*where))
    rows = await db.scalars(
        select(AuditEvent).where(*where).order_by(AuditEvent.at.desc(), AuditEvent.id).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)
