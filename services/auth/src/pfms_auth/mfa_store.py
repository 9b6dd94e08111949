"""TOTP enrolments and backup codes in the database (the rules themselves are in `mfa.py`)."""

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import audit, mfa
from pfms_auth.audit import Action
from pfms_auth.models import MfaBackupCode, MfaSetting
from pfms_auth.runtime import Runtime
from pfms_auth.sessions import Device
from pfms_platform.db import utcnow
from pfms_platform.errors import Conflict, Invalid


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


async def _setting(db: AsyncSession, user_id: uuid.UUID) -> MfaSetting | None:
    return await db.scalar(select(MfaSetting).where(MfaSetting.user_id == user_id).with_for_update())


async def is_enabled(db: AsyncSession, user_id: uuid.UUID) -> bool:
    enabled = await db.scalar(select(MfaSetting.is_enabled).where(MfaSetting.user_id == user_id))
    return bool(enabled)


async def setup(db: AsyncSession, rt: Runtime, user_id: uuid.UUID, email: str) -> Enrolment:
    """Start (or restart) an enrolment; it protects nothing until `enable` confirms a code."""
    setting = await _setting(db, user_id)
    if setting is not None and setting.is_enabled:
        raise Conflict("MFA is already enabled; disable it first")
    secret = mfa.new_secret()
    if setting is None:
        db.add(MfaSetting(user_id=user_id, secret_encrypted=secret))
    else:
        setting.secret_encrypted = secret
        setting.last_used_step = None
    return Enrolment(secret, mfa.provisioning_uri(secret, email, rt.settings.totp_issuer))


async def enable(db: AsyncSession, rt: Runtime, user_id: uuid.UUID, code: str, device: Device) -> list[str]:
    """Confirm the enrolment with a first code; returns the backup codes (only their digests are kept)."""
    setting = await _setting(db, user_id)
    if setting is None or setting.is_enabled:
        raise Conflict("No pending MFA setup; call mfa/setup first" if setting is None else "MFA is already enabled")
    step = mfa.match_totp(setting.secret_encrypted, code, utcnow(), setting.last_used_step)
    if step is None:
        raise Invalid("Invalid code", field="code")
    setting.is_enabled = True
    setting.enabled_at = utcnow()
    setting.last_used_step = step
    codes = mfa.new_backup_codes()
    await db.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    db.add_all(MfaBackupCode(user_id=user_id, code_hash=mfa.backup_code_digest(c)) for c in codes)
    await audit.record(db, user_id, Action.MFA_ENABLED, device, method=setting.method)
    return codes


async def disable(db: AsyncSession, user_id: uuid.UUID, device: Device) -> None:
    await db.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    await db.execute(delete(MfaSetting).where(MfaSetting.user_id == user_id))
    await audit.record(db, user_id, Action.MFA_DISABLED, device)


async def verify(db: AsyncSession, rt: Runtime, user_id: uuid.UUID, code: str, device: Device) -> bool:
    """A TOTP code (each time step accepted once) or an unused backup code (spent by this call, and
    in the audit log with the number still unused)."""
    setting = await _setting(db, user_id)
    if setting is None or not setting.is_enabled:
        return False
    if mfa.is_totp_code(code):
        step = mfa.match_totp(setting.secret_encrypted, code, utcnow(), setting.last_used_step)
        if step is None:
            return False
        setting.last_used_step = step
        return True
    spent = await db.execute(
        update(MfaBackupCode)
        .where(
            MfaBackupCode.user_id == user_id,
            MfaBackupCode.code_hash == mfa.backup_code_digest(code),
            MfaBackupCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(MfaBackupCode.id)
    )
    if spent.first() is None:
        return False
    left = await db.scalar(
        select(func.count()).where(MfaBackupCode.user_id == user_id, MfaBackupCode.used_at.is_(None))
    )
    await audit.record(db, user_id, Action.MFA_BACKUP_CODE_USED, device, remaining=int(left or 0))
    return True


async def require_enabled(db: AsyncSession, user_id: uuid.UUID) -> None:
    if not await is_enabled(db, user_id):
        raise Conflict("MFA is not enabled")
