"""Pytest plugin for the fleet: real servers once per run, a clean database and vhost per test.

Enable it with `pytest_plugins = ["pfms_platform.testing"]` in the root conftest. Under `pytest -n N` it
also decides how the tests are shared between the workers (scheduling.py).
"""

from pfms_platform.testing.fixtures import (
    Running,
    TestKeys,
    jwt_keys,
    make_service,
    stack,
)
from pfms_platform.testing.scheduling import pytest_xdist_make_scheduler

__all__ = ["Running", "TestKeys", "jwt_keys", "make_service", "pytest_xdist_make_scheduler", "stack"]
