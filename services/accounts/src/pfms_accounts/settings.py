"""Settings of the accounts service (env prefix `PFMS_ACCOUNTS_`)."""

from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from pfms_finance.currency import normalise_currency
from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_ACCOUNTS_", extra="ignore")

    service_name: str = "accounts"
    port: int = 3015
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_accounts"

    default_currency: str = Field(default="USD", description="Net worth currency until the profile's is known")
    exchange_fee_percent: Decimal = Field(
        default=Decimal("0.5"), ge=0, lt=100, description="Fee of a currency exchange, percent of the sold amount"
    )
    quote_ttl_seconds: int = Field(default=30, ge=1, description="How long an exchange quote may be executed")
    idempotency_ttl_hours: int = Field(default=24, ge=1, description="How long an Idempotency-Key answer is kept")
    net_worth_max_days: int = Field(default=366, ge=1, description="Longest net-worth history one request returns")
    internal_attempts: int = Field(default=3, ge=1, description="Tries per call to market-data and user")
    payment_ttl_hours: int = Field(
        default=168, ge=1, description="A payment request or an unaccepted payment expires (refunded) after this"
    )
    payment_sweep_seconds: float = Field(default=60, gt=0, description="How often overdue payments are expired")

    plaid_host: str = Field(default="https://sandbox.plaid.com", description="Plaid API base URL")
    plaid_client_id: str = Field(default="", description="Plaid client id")
    plaid_secret: SecretStr = Field(default=SecretStr(""), description="Plaid secret of the environment")
    belvo_host: str = Field(default="https://sandbox.belvo.com", description="Belvo API base URL")
    belvo_secret_id: str = Field(default="", description="Belvo API secret id")
    belvo_secret_password: SecretStr = Field(default=SecretStr(""), description="Belvo API secret password")
    belvo_webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="The Authorization value Belvo's webhooks carry (empty: refuse all)"
    )
    bank_initial_days: int = Field(default=90, ge=1, description="How far back a new Belvo link is read")
    bank_sync_poll_seconds: float = Field(default=2.0, gt=0, description="How often requested syncs are picked up")
    bank_sync_every_hours: float = Field(
        default=6.0, gt=0, description="Every active connection is synced at least this often, webhook or not"
    )
    bank_sync_due_check_seconds: float = Field(
        default=60.0, gt=0, description="How often the background job looks for connections due a scheduled sync"
    )

    card_issuer: Literal["sandbox"] = Field(
        default="sandbox", description="Issuer of new virtual cards (`issuer.py`); the sandbox is not a card network"
    )
    card_sandbox_secret: SecretStr = Field(
        default=SecretStr("pfms-sandbox-card-webhooks"),
        description="HMAC secret of the sandbox issuer's authorisation webhooks (set a private one when exposed)",
    )
    card_expiry_years: int = Field(default=3, ge=1, le=10, description="Years a new card is valid")

    _currency = field_validator("default_currency")(normalise_currency)
