"""Settings of the report service (env prefix `PFMS_REPORT_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_REPORT_", extra="ignore")

    service_name: str = "report"
    port: int = 3012
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_report"
