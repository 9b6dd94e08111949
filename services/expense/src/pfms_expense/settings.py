"""Settings of the expense service (env prefix `PFMS_EXPENSE_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_EXPENSE_", extra="ignore")

    service_name: str = "expense"
    port: int = 3003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_expense"
