"""Alembic environment: the shared runner with this service's metadata."""

import pfms_user.models  # noqa: F401 - maps the service's tables
from pfms_platform.db import service_metadata
from pfms_platform.migrations import run_env

run_env(service_metadata("pfms_user"))
