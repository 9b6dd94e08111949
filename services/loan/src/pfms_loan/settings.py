"""Settings of the loan service (env prefix `PFMS_LOAN_`)."""

from datetime import UTC, date, datetime

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_LOAN_", extra="ignore")

    service_name: str = "loan"
    port: int = 3006
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_loan"

    jobs_enabled: bool = Field(default=True, description="Run the daily loan job (overdue, late fees, reminders)")
    jobs_interval_seconds: float = Field(default=300.0, gt=0, description="Pause between two passes of the job")
    due_horizon_days: int = Field(
        default=366,
        ge=0,
        le=366,
        description="Publish loan.instalment_due this many days before an instalment: by default as far ahead as "
        "the income service's cash-flow projection looks (365 days)",
    )
    clock_date: date | None = Field(
        default=None,
        description="Pretend today is this date (PFMS_LOAN_CLOCK_DATE); for tests and demos, refused in production",
    )

    @model_validator(mode="after")
    def _no_fake_clock_in_production(self) -> "Settings":
        if self.environment == "production" and self.clock_date is not None:
            raise ValueError("clock_date may not be set in production")
        return self

    def today(self) -> date:
        """The service's idea of today: the injected date outside production, else the UTC date."""
        return self.clock_date or datetime.now(UTC).date()
