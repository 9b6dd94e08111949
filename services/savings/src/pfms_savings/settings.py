"""Settings of the savings service (env prefix `PFMS_SAVINGS_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_SAVINGS_", extra="ignore")

    service_name: str = "savings"
    port: int = 3014
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_savings"
