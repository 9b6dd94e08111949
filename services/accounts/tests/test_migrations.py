"""The Alembic history builds exactly the tables the models describe."""

import pytest

from pfms_platform.testing import Running
from pfms_platform.testing.schema import schema_drift

pytestmark = pytest.mark.integration


async def test_migrations_match_the_models(make_service) -> None:
    svc: Running = await make_service("accounts")
    assert await schema_drift(svc.db, "pfms_accounts") == []
