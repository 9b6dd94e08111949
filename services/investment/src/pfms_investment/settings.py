"""Settings of the investment service (env prefix `PFMS_INVESTMENT_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_INVESTMENT_", extra="ignore")

    service_name: str = "investment"
    port: int = 3005
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_investment"
