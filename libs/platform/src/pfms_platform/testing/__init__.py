"""Pytest plugin for the fleet: real servers once per run, a clean database and vhost per test.

Enable it with `pytest_plugins = ["pfms_platform.testing"]` in the root conftest.
"""

from pfms_platform.testing.fixtures import (
    Running,
    TestKeys,
    jwt_keys,
    make_service,
    stack,
)

__all__ = ["Running", "TestKeys", "jwt_keys", "make_service", "stack"]
