"""Settings of the report service (env prefix `PFMS_REPORT_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.catalogue import SERVICES
from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_REPORT_", extra="ignore")

    service_name: str = "report"
    port: int = 3012
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_report"

    # Object storage (S3 or anything that speaks its API: MinIO, moto's server in tests)
    s3_endpoint_url: str | None = Field(default=None, description="None: AWS itself")
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "pfms-reports"
    s3_region: str = "us-east-1"

    # The worker and the expiry sweep (background loops in every instance)
    worker_enabled: bool = True
    worker_concurrency: int = Field(default=2, ge=1, description="Jobs one instance works on at once")
    poll_seconds: float = Field(default=1.0, gt=0, description="Idle wait between looks for work")
    lease_seconds: float = Field(default=300.0, gt=0, description="A job claimed longer ago is resumed elsewhere")
    max_attempts: int = Field(default=5, ge=1, description="Upstream outages retried this often, then failed")
    retry_base_seconds: float = Field(default=5.0, ge=0, description="First back-off after an upstream outage")
    report_ttl_hours: float = Field(default=72.0, gt=0, description="How long a finished file stays downloadable")
    cleanup_seconds: float = Field(default=60.0, gt=0, description="How often expired files are removed")
    upstream_timeout_seconds: float = Field(default=30.0, gt=0, description="Per internal call (exports are big)")
    export_services: list[str] = Field(
        default_factory=lambda: [s.name for s in SERVICES],
        description="Services whose /internal/v1/export goes into a user's data export (JSON list)",
    )
    max_open_per_user: int = Field(default=10, ge=1, description="Jobs a user may have waiting or running at once")
