"""Settings of the ai service (env prefix `PFMS_AI_`); its store is MongoDB, not PostgreSQL."""

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pfms_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PFMS_AI_", extra="ignore")

    service_name: str = "ai"
    port: int = 3009
    mongo_database: str = "pfms_ai"

    categorize_min_confidence: Decimal = Field(
        default=Decimal("0.40"), ge=0, le=1, description="Below this confidence no category is published."
    )
    model_check_seconds: float = Field(
        default=5.0, description="How long a replica trusts its cached user model before checking for new labels."
    )
    personal_full_at: int = Field(default=40, ge=1, description="Labelled expenses at which a user model counts fully.")
    consumer_batch_size: int = Field(default=256, ge=1, le=2000)

    insight_duplicate_days: int = Field(default=3, ge=0, description="Same merchant and amount within N days.")
    insight_anomaly_z: float = Field(default=3.5, gt=0, description="Robust z-score above which an amount is unusual.")
    insight_change_percent: Decimal = Field(default=Decimal(20), ge=0, description="Month-over-month change to report.")
    cache_seconds: int = Field(default=300, ge=1, description="Lifetime of cached insights and forecasts.")

    receipt_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    tesseract_cmd: str = "tesseract"

    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1); off when unset."
    )
    llm_api_key: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 10.0
