"""Settings of the income service (env prefix `PFMS_INCOME_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_INCOME_", extra="ignore")

    service_name: str = "income"
    port: int = 3004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_income"
