"""Settings of the income service (env prefix `PFMS_INCOME_`)."""

from decimal import Decimal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from pfms_finance.currency import normalise_currency
from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_INCOME_", extra="ignore")

    service_name: str = "income"
    port: int = 3004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_income"

    projection_cache_seconds: int = Field(default=300, ge=0, description="0 turns the Redis cache off")
    projection_store_delay_seconds: float = Field(
        default=0.5,
        ge=0,
        description="How long a computed projection waits before it is stored as the latest; the projections "
        "of one user computed meanwhile collapse into one write of the newest",
    )
    burn_window_days: int = Field(default=30, ge=1, le=365, description="Days of expenses the daily burn averages")
    confidence_half_life_days: int = Field(default=90, ge=1, description="Horizon at which confidence halves")
    default_currency: str = Field(default="USD", description="Until the user's profile currency is known")
    default_starting_balance: Decimal = Field(default=Decimal(0), description="When the request names none")
    default_threshold: Decimal = Field(default=Decimal(0), description="Warn when the balance falls below this")

    _currency = field_validator("default_currency")(normalise_currency)
