"""Settings of the user service (env prefix `PFMS_USER_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_USER_", extra="ignore")

    service_name: str = "user"
    port: int = 3002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_user"
    read_pool_size: int = Field(default=10, ge=1, description="Connections of the lean GET /profile read path")
