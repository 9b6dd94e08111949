"""Settings of the tax service (env prefix `PFMS_TAX_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_TAX_", extra="ignore")

    service_name: str = "tax"
    port: int = 3008
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_tax"
    report_timeout_seconds: float = Field(default=5.0, gt=0, description="Asking the report service for a tax report")
