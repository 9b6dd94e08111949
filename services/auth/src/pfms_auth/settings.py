"""Settings of the auth service (env prefix `PFMS_AUTH_`)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings

DEV_KEY_ENCRYPTION_KEY = "ZGV2LW9ubHkta2V5LWVuY3J5cHRpb24ta2V5LTAwMDA="
"""Fernet key everybody can read in the repo: fine on a laptop, refused in production."""


GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
GITHUB_AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN_URL = "https://github.com/login/oauth/access_token"
GITHUB_API_URL = "https://api.github.com/"


class OAuthClient(BaseModel):
    """One identity provider we are a client of. `oidc` (and `google`, an OIDC provider with its
    discovery URL known) learns its endpoints and keys from discovery; `github` is plain OAuth2 plus
    its REST API for the user and their verified emails. `response_mode: form_post` (Apple, some OIDC
    providers) has the browser POST the code back to the callback instead of a redirect with a query."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["oidc", "google", "github"] = "oidc"
    client_id: str
    client_secret: str = ""
    discovery_url: str | None = None
    scope: str | None = None
    authorize_url: str = GITHUB_AUTHORIZE_URL
    token_url: str = GITHUB_TOKEN_URL
    api_base_url: str = GITHUB_API_URL
    response_mode: Literal["query", "form_post"] = "query"

    @model_validator(mode="after")
    def _defaults(self) -> "OAuthClient":
        if self.kind == "google" and self.discovery_url is None:
            self.discovery_url = GOOGLE_DISCOVERY_URL
        if self.kind != "github" and self.discovery_url is None:
            raise ValueError("an OpenID Connect provider needs discovery_url")
        if self.scope is None:
            self.scope = "read:user user:email" if self.kind == "github" else "openid email profile"
        return self


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

    # Sign-in with identity providers: {"google": {"kind": "google", "client_id": ..., "client_secret": ...}, ...}
    # as JSON in PFMS_AUTH_OAUTH_PROVIDERS; the name is the {provider} of the routes.
    oauth_providers: dict[str, OAuthClient] = Field(default_factory=dict)
    oauth_redirect_base_url: str = Field(
        default="http://localhost:8000",
        description="Public URL the provider sends the browser back to (the gateway's); + /api/v1/auth/oauth/...",
    )
    oauth_state_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    oauth_link_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    reauth_max_age_seconds: int = Field(
        default=600, ge=60, le=3600, description="How recent a sign-in must be to set a first password"
    )

    # Passkeys (WebAuthn): the relying party is the web app's domain; origins are where its pages run.
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "PFMS"
    webauthn_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8000"])
    passkey_challenge_ttl_seconds: int = Field(default=300, ge=30, le=900)
    passkeys_per_user: int = Field(default=10, ge=1, le=50)

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
