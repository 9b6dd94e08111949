"""The Alembic history builds exactly the tables the models describe."""

import pytest

from pfms_platform.testing.schema import schema_drift

from .conftest import Harness

pytestmark = pytest.mark.integration


async def test_migrations_match_the_models(env: Harness) -> None:
    assert await schema_drift(env.svc.db, "pfms_savings") == []
