"""Settings of the notification service (env prefix `PFMS_NOTIFICATION_`)."""

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_NOTIFICATION_", extra="ignore")

    service_name: str = "notification"
    port: int = 3010
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pfms_notification"

    app_url: str = Field(default="http://localhost:3000", description="Client base URL put in links of mails")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "PFMS <no-reply@pfms.local>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False

    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_project_id: str = ""
    fcm_access_token: str = Field(default="", description="OAuth 2 bearer for FCM HTTP v1 (refreshed by the deploy)")

    sms_base_url: str = "https://api.twilio.com"
    sms_account_sid: str = ""
    sms_auth_token: str = ""
    sms_from: str = ""

    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    dispatch_interval_seconds: float = Field(default=1.0, gt=0)
    send_timeout_seconds: float = Field(default=10.0, gt=0)

    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_retry_base_seconds: float = Field(default=60.0, gt=0)
    webhook_allow_loopback_http: bool = Field(
        default=False, description="Tests only: lets webhooks target http://127.0.0.1 receivers"
    )

    digest_hour: int = Field(default=8, ge=0, le=23, description="Local hour from which the daily digest goes")
    intake_batch_size: int = Field(default=500, ge=1, description="Events applied per transaction at most")
    intake_batch_wait_seconds: float = Field(default=0.02, ge=0)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _no_loopback_webhooks_in_production(self) -> "Settings":
        if self.environment == "production" and self.webhook_allow_loopback_http:
            raise ValueError("webhook_allow_loopback_http is for tests and may not be set in production")
        return self
