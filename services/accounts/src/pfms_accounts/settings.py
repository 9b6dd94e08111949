"""Settings of the accounts service (env prefix `PFMS_ACCOUNTS_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_ACCOUNTS_", extra="ignore")

    service_name: str = "accounts"
    port: int = 3015
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_accounts"
