"""Settings of the market-data service (env prefix `PFMS_MARKET_DATA_`)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings

StockProvider = Literal["offline", "stooq"]
CryptoProvider = Literal["offline", "coingecko"]
ForexProvider = Literal["offline", "frankfurter"]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_MARKET_DATA_", extra="ignore")

    service_name: str = "market-data"
    port: int = 3013
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_market"

    stock_provider: StockProvider = "offline"
    crypto_provider: CryptoProvider = "offline"
    forex_provider: ForexProvider = "offline"
    stooq_url: str = "https://stooq.com"
    coingecko_url: str = "https://api.coingecko.com/api/v3"
    coingecko_api_key: str = ""
    frankfurter_url: str = "https://api.frankfurter.app"

    provider_timeout_seconds: float = Field(default=3.0, gt=0)
    provider_rate_per_second: float = Field(default=5.0, gt=0, description="Per provider, token bucket.")
    provider_burst: int = Field(default=5, ge=1)
    provider_attempts: int = Field(default=3, ge=1)
    provider_retry_delay_seconds: float = Field(default=0.2, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)

    ttl_stock_seconds: int = Field(default=60, ge=1)
    ttl_crypto_seconds: int = Field(default=30, ge=1)
    ttl_forex_seconds: int = Field(default=3600, ge=1)
    stale_keep_seconds: int = Field(default=7 * 86400, ge=1, description="How long a last-known quote is kept.")

    refresh_interval_seconds: float = Field(default=60.0, gt=0)
    refresh_batch: int = Field(default=50, ge=1)
