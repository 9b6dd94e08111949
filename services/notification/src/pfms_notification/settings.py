"""Settings of the notification service (env prefix `PFMS_NOTIFICATION_`)."""

import json
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
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
    fcm_project_id: str = Field(default="", description="Firebase project id; empty: the key's `project_id`")
    fcm_service_account_file: str = Field(
        default="", description="Path of the Google service-account key (JSON) that FCM access tokens are minted from"
    )
    fcm_service_account_json: SecretStr | None = Field(
        default=None, description="The service-account key JSON itself, instead of a file (a secret)"
    )

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

    @field_validator("fcm_service_account_json", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty variable (compose's `${FCM_SERVICE_ACCOUNT_JSON:-}`) means no key, not a broken one."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_service_account_key(self) -> "Settings":
        if self.fcm_service_account_file and self.fcm_service_account_json is not None:
            raise ValueError("set fcm_service_account_file or fcm_service_account_json, not both")
        return self

    def fcm_service_account(self) -> dict[str, Any] | None:
        """The Google service-account key push is sent with, or None when push is not configured."""
        if self.fcm_service_account_json is not None:
            text = self.fcm_service_account_json.get_secret_value()
        elif self.fcm_service_account_file:
            text = Path(self.fcm_service_account_file).read_text()
        else:
            return None
        try:
            info = json.loads(text)
        except ValueError as exc:
            raise ValueError("the FCM service-account key is not JSON") from exc
        missing = {"client_email", "private_key", "token_uri"} - set(info if isinstance(info, dict) else ())
        if missing:
            raise ValueError(f"the FCM service-account key lacks {', '.join(sorted(missing))}")
        if not (self.fcm_project_id or info.get("project_id")):
            raise ValueError("no FCM project: set fcm_project_id or use a key with project_id")
        return dict(info)
