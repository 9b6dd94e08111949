"""Settings every service shares; each service subclasses with its own env prefix."""

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pfms_platform.crypto import ENCRYPTING_SERVICES, Keyring, keyring

DEV_SERVICE_TOKEN_SECRET = "dev-only-service-token-secret-change-me-0123456789"


class ServiceSettings(BaseSettings):
    """Fleet-wide knobs. A service's subclass sets `env_prefix` (e.g. `PFMS_USER_`)."""

    model_config = SettingsConfigDict(env_prefix="PFMS_", extra="ignore")

    service_name: str = "pfms"
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes (more cores, same port)")
    log_level: str = "INFO"

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms"
    db_pool_size: int = 10
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = "pfms"

    jwks_url: str = "http://127.0.0.1:3001/.well-known/jwks.json"
    jwt_issuer: str = "pfms-auth"
    jwt_audience: str = "pfms"
    service_token_secret: str = DEV_SERVICE_TOKEN_SECRET

    field_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Keys of the encrypted columns as JSON, key id → base64 of 32 bytes "
        '(e.g. {"k2": "…", "k1": "…"}); unset outside production: per-service development keys.',
    )
    field_key_current: str = Field(default="", description="Id of the field key new values are written with")
    field_index_key: SecretStr | None = Field(
        default=None, description="base64 of 32 bytes: HMAC key of blind indexes (lookups on encrypted columns)"
    )

    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Where other services answer, by catalogue name, as JSON "
        '(e.g. {"market-data": "http://127.0.0.1:41234"}); others follow service_url_template.',
    )
    service_url_template: str = Field(
        default="http://127.0.0.1:{port}",
        description="Address of a service not in service_urls; compose and Kubernetes use http://{name}:{port}.",
    )

    user_rate_limit_per_minute: int = Field(default=100, ge=0, description="0 disables the limiter")
    relay_enabled: bool = True
    outbox_retention_days: float = Field(
        default=7.0,
        ge=0,
        description="Days a published outbox row is kept, for `outbox-replay` to a consumer restored from a "
        "backup (a backup older than this cannot be caught up); 0 keeps them forever",
    )
    consumers_enabled: bool = True
    ready_timeout_seconds: float = 1.0

    otel_exporter_otlp_endpoint: str = Field(
        default="",
        description="Base URL of an OTLP/HTTP collector (e.g. http://jaeger:4318): traces go to <it>/v1/traces. "
        "Empty (the default) turns tracing off: no tracer provider, no instrumentation (pfms_platform.tracing).",
    )
    otel_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces recorded; a caller's decision is followed"
    )

    def service_url(self, name: str) -> str:
        """Base URL of another service, for the few synchronous internal calls (`/internal/...`)."""
        from pfms_platform.catalogue import service

        return self.service_urls.get(name) or self.service_url_template.format(name=name, port=service(name).port)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "ServiceSettings":
        """A production replica must never sign with the secret everybody can read in the repo."""
        if self.environment == "production" and self.service_token_secret == DEV_SERVICE_TOKEN_SECRET:
            raise ValueError("service_token_secret must be set outside development")
        encrypts = self.service_name in ENCRYPTING_SERVICES
        if self.environment == "production" and encrypts and not (self.field_keys and self.field_index_key):
            raise ValueError("field_keys and field_index_key must be set in production")
        self.field_keyring()  # a malformed key or an unknown current id fails at startup, not on first use
        return self

    def field_keyring(self) -> Keyring:
        """The keys of this service's encrypted columns (development keys of its own when none are set)."""
        return keyring(
            {kid: key.get_secret_value() for kid, key in self.field_keys.items()},
            self.field_key_current,
            self.field_index_key.get_secret_value() if self.field_index_key else None,
            service=self.service_name,
        )
