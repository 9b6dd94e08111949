"""Settings of the automation service (env prefix `PFMS_AUTOMATION_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_AUTOMATION_", extra="ignore")

    service_name: str = "automation"
    port: int = 3011
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_automation"
