"""The Alembic history builds exactly the tables the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pfms_income.models import Base

pytestmark = pytest.mark.integration


async def test_migrations_match_the_models(env) -> None:
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with env.svc.db.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
