"""Tables of the auth service (seed §2.1 plus what rotation, reuse detection and MFA need).

Every secret a client presents later (refresh, reset and verification tokens, backup codes) is
stored as a SHA-256 digest; private signing keys are Fernet-encrypted with the key-encryption key;
TOTP secrets and provider tokens are `Encrypted` columns (AES-256-GCM under the service's field keys).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.crypto import Encrypted
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = [
    "AuditEvent",
    "Base",
    "EmailVerificationToken",
    "InboxEvent",
    "MfaBackupCode",
    "MfaSetting",
    "OAuthProvider",
    "OutboxEvent",
    "Passkey",
    "PasswordResetToken",
    "RefreshToken",
    "Session",
    "SigningKey",
    "User",
]


def _owner() -> ForeignKey:
    """Rows that belong to a user go when the user goes (account deletion is one DELETE)."""
    return ForeignKey("users.id", ondelete="CASCADE")


class _Created:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    last_login: Mapped[datetime | None]
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list, server_default=text("'{}'"))
    """Granted by the operator command (`pfms-auth-admin`), never over HTTP; copied into each access token."""


class OAuthProvider(IdMixin, _Created, Base):
    """An identity at a provider linked to a user (seed §2.1): one per provider and user, one user per
    identity. The provider's tokens are encrypted columns; `email` is what the provider said last."""

    __tablename__ = "oauth_providers"
    __table_args__ = (UniqueConstraint("provider", "provider_user_id"), UniqueConstraint("user_id", "provider"))

    user_id: Mapped[uuid.UUID] = mapped_column(_owner(), index=True)
    provider: Mapped[str] = mapped_column(String(50))
    provider_user_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    access_token: Mapped[str | None] = mapped_column(Encrypted())
    refresh_token: Mapped[str | None] = mapped_column(Encrypted())
    last_used_at: Mapped[datetime | None]


class Passkey(IdMixin, _Created, Base):
    """A WebAuthn credential of a user: its public key (COSE) and the authenticator's last sign count."""

    __tablename__ = "passkeys"

    user_id: Mapped[uuid.UUID] = mapped_column(_owner(), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    transports: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list, server_default=text("'{}'"))
    name: Mapped[str] = mapped_column(String(100))
    backed_up: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    last_used_at: Mapped[datetime | None]


class MfaSetting(IdMixin, _Created, Base):
    """One TOTP enrolment per user: pending after setup, enabled once a code confirmed it."""

    __tablename__ = "mfa_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(_owner(), unique=True)
    method: Mapped[str] = mapped_column(String(50), default="totp", server_default=text("'totp'"))
    secret_encrypted: Mapped[str] = mapped_column(Encrypted())
    is_enabled: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    enabled_at: Mapped[datetime | None]


class MfaBackupCode(IdMixin, _Created, Base):
    """One row per code (rather than the seed's JSONB list) so that spending one is a single atomic UPDATE."""

    __tablename__ = "mfa_backup_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    user_id: Mapped[uuid.UUID] = mapped_column(_owner())
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class Session(IdMixin, _Created, Base):
    """A signed-in device; its refresh tokens form one rotation family."""

    __tablename__ = "sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(_owner(), index=True)
    device_info: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    ip_address: Mapped[str | None] = mapped_column(INET)
    expires_at: Mapped[datetime]
    last_accessed: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(50))


class RefreshToken(IdMixin, _Created, Base):
    """Every refresh token ever issued for a session; a used one presented again betrays a theft."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PasswordResetToken(IdMixin, _Created, Base):
    __tablename__ = "password_reset_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(_owner(), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class EmailVerificationToken(IdMixin, _Created, Base):
    __tablename__ = "email_verification_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(_owner(), index=True)
    email: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SigningKey(_Created, Base):
    """RS256 keys shared by every replica; the newest signs, the newest two are published."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)


class AuditEvent(IdMixin, Base):
    """One sensitive operation on an account (sign-in, MFA, password, sessions, export, deletion),
    readable by its owner. `details` holds ids and reasons only, never a secret; the rows go with the user."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_user_id_at", "user_id", "at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(_owner())
    at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    action: Mapped[str] = mapped_column(String(50))
    outcome: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
