"""Settings of the loan service (env prefix `PFMS_LOAN_`)."""

from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_LOAN_", extra="ignore")

    service_name: str = "loan"
    port: int = 3006
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_loan"
