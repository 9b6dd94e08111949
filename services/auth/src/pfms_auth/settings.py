"""Settings of the auth service (env prefix `PFMS_AUTH_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_AUTH_", extra="ignore")

    service_name: str = "auth"
    port: int = 3001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_auth"
