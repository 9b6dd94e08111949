"""Settings of the notification service (env prefix `PFMS_NOTIFICATION_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_NOTIFICATION_", extra="ignore")

    service_name: str = "notification"
    port: int = 3010
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_notification"
