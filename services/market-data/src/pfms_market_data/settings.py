"""Settings of the market-data service (env prefix `PFMS_MARKET_DATA_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_MARKET_DATA_", extra="ignore")

    service_name: str = "market-data"
    port: int = 3013
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_market"
