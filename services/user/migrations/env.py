"""Alembic environment: the shared runner with this service's metadata."""

# Imported to map the service's tables (profiles and preferences; spaces).
import pfms_user.models
import pfms_user.spaces.models  # noqa: F401
from pfms_platform.db import service_metadata
from pfms_platform.migrations import run_env

run_env(service_metadata("pfms_user"))
