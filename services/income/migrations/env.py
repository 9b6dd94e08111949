"""Alembic environment: the shared runner with this service's metadata."""

from pfms_income.models import Base
from pfms_platform.migrations import run_env

run_env(Base.metadata)
