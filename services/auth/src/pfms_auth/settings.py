"""Settings of the auth service (env prefix `PFMS_AUTH_`)."""

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings

DEV_KEY_ENCRYPTION_KEY = "ZGV2LW9ubHkta2V5LWVuY3J5cHRpb24ta2V5LTAwMDA="
"""Fernet key everybody can read in the repo: fine on a laptop, refused in production."""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_AUTH_", extra="ignore")

    service_name: str = "auth"
    port: int = 3001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_auth"

    # argon2id; the floors are OWASP's minimum (m=19 MiB, t=2, p=1), so config can only make it stronger.
    argon2_memory_cost: int = Field(default=19456, ge=19456, description="KiB")
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    password_reset_ttl_minutes: int = Field(default=30, ge=5)
    email_verification_ttl_hours: int = Field(default=24, ge=1)
    mfa_challenge_ttl_seconds: int = Field(default=300, ge=30)
    totp_issuer: str = "PFMS"

    # Brute force: failed logins per account and per client IP, counted in Redis.
    account_max_failures: int = Field(default=5, ge=1)
    ip_max_failures: int = Field(default=20, ge=1)
    failure_window_seconds: int = Field(default=900, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)
    # Mails a person can trigger (password reset, verification) per address and window; extra ones are dropped.
    mail_requests_per_window: int = Field(default=3, ge=1)
    mail_window_seconds: int = Field(default=3600, ge=1)

    key_encryption_key: str = Field(
        default=DEV_KEY_ENCRYPTION_KEY,
        description="Fernet key(s), comma-separated, newest first: encrypts the private signing keys at rest.",
    )
    rsa_key_size: int = Field(default=2048, ge=2048)

    @model_validator(mode="after")
    def _refuse_dev_key_encryption_key(self) -> "Settings":
        """Private signing keys encrypted with a key from the repo would be as good as plaintext."""
        if self.environment == "production" and DEV_KEY_ENCRYPTION_KEY in self.key_encryption_key.split(","):
            raise ValueError("key_encryption_key must be set outside development")
        return self
