"""Alembic environment: the shared runner with this service's metadata."""

from pfms_platform.migrations import run_env
from pfms_user.models import Base

run_env(Base.metadata)
