"""Settings of the automation service (env prefix `PFMS_AUTOMATION_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_AUTOMATION_", extra="ignore")

    service_name: str = "automation"
    port: int = 3011
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_automation"

    max_chain_depth: int = Field(default=5, ge=1, description="Events in a causation chain before rules stop acting.")
    history_per_user: int = Field(default=500, ge=1, description="Trigger events remembered per user.")
    scheduler_interval_seconds: float = Field(default=30.0, gt=0, description="How often due schedules are looked for.")
    scheduler_batch: int = Field(default=100, ge=1, description="Due schedules fired per transaction.")
    rules_per_user: int = Field(default=1000, ge=1, description="Most rules one user may keep.")
    rule_cache_users: int = Field(default=10_000, ge=1, description="Users whose compiled rules stay in memory.")
