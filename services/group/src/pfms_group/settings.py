"""Settings of the group service (env prefix `PFMS_GROUP_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_GROUP_", extra="ignore")

    service_name: str = "group"
    port: int = 3007
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_group"
