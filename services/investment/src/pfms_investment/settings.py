"""Settings of the investment service (env prefix `PFMS_INVESTMENT_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_INVESTMENT_", extra="ignore")

    service_name: str = "investment"
    port: int = 3005
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_investment"

    snapshot_enabled: bool = Field(default=True, description="Take daily portfolio snapshots in the background")
    snapshot_interval_seconds: float = Field(default=300.0, gt=0, description="Pause between two snapshot passes")
    market_timeout_seconds: float = Field(default=2.0, gt=0, description="Per-attempt timeout of calls to market-data")
    market_attempts: int = Field(default=2, ge=1, le=5, description="Tries per call to market-data")
