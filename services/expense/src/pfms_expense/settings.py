"""Settings of the expense service (env prefix `PFMS_EXPENSE_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_EXPENSE_", extra="ignore")

    service_name: str = "expense"
    port: int = 3003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_expense"

    scheduler_enabled: bool = Field(default=True, description="Materialise recurring expenses and send reminders")
    scheduler_interval_seconds: float = Field(default=30.0, gt=0, description="Pause between two scheduler passes")
    import_dir: str | None = Field(default=None, description="Where uploads wait for their job (default: system temp)")
    import_max_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest upload (the gateway allows 50 MB)"
    )
    import_chunk_rows: int = Field(default=5000, ge=100, description="Rows parsed, checked and copied per step")
    fx_timeout_seconds: float = Field(
        default=1.0, gt=0, description="Longest wait for one market-data FX rate (a request never waits longer)"
    )
    fx_breaker_reset_seconds: float = Field(
        default=15.0, gt=0, description="After market-data failed repeatedly, pause this long before trying again"
    )
    fx_job_users: int = Field(default=50, ge=1, description="Users whose unconverted expenses one job pass takes")
    import_stale_seconds: float = Field(
        default=600.0, gt=0, description="A job with no progress for this long is marked failed (its instance died)"
    )
