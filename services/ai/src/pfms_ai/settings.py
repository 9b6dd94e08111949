"""Settings of the ai service (env prefix `PFMS_AI_`); its store is MongoDB, not PostgreSQL."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_AI_", extra="ignore")

    service_name: str = "ai"
    port: int = 3009
    mongo_database: str = "pfms_ai"
