"""Settings of the savings service (env prefix `PFMS_SAVINGS_`)."""

from datetime import UTC, date, datetime

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_SAVINGS_", extra="ignore")

    service_name: str = "savings"
    port: int = 3014
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_savings"

    jobs_enabled: bool = Field(default=True, description="Run the scheduled auto-save loop")
    jobs_interval_seconds: float = Field(default=300.0, gt=0, description="Pause between two passes of the loop")
    catch_up_limit: int = Field(
        default=366, ge=1, description="Most missed runs one rule catches up in a pass (the rest follow next pass)"
    )
    emergency_lookback_months: int = Field(
        default=6, ge=1, le=24, description="Whole months of spending the emergency-fund average looks at"
    )
    emergency_min_months: int = Field(default=3, ge=1, description="Months of spending the minimum fund covers")
    emergency_max_months: int = Field(default=6, ge=1, description="Months of spending the recommended fund covers")
    clock_date: date | None = Field(
        default=None,
        description="Pretend today is this date (PFMS_SAVINGS_CLOCK_DATE); for tests and demos, refused in production",
    )

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.environment == "production" and self.clock_date is not None:
            raise ValueError("clock_date may not be set in production")
        if self.emergency_min_months > self.emergency_max_months:
            raise ValueError("emergency_min_months may not exceed emergency_max_months")
        return self

    def today(self) -> date:
        """The service's idea of today: the injected date outside production, else the UTC date."""
        return self.clock_date or datetime.now(UTC).date()
