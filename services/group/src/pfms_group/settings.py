"""Settings of the group service (env prefix `PFMS_GROUP_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_GROUP_", extra="ignore")

    service_name: str = "group"
    port: int = 3007
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_group"

    scheduler_enabled: bool = Field(default=True, description="Materialise recurring group expenses")
    scheduler_interval_seconds: float = Field(default=60.0, gt=0, description="Pause between two scheduler passes")
    internal_attempts: int = Field(default=3, ge=1, description="Tries per call to market-data and the user service")
