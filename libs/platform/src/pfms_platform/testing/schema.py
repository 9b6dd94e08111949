"""Schema drift check: the Alembic history must build exactly the tables the models describe."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pfms_platform.db import Database, service_metadata


async def schema_drift(db: Database, package: str) -> list[Any]:
    """Differences between the migrated database and the models of `package` ([] when in step)."""
    metadata = service_metadata(package)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with db.engine.connect() as connection:
        return await connection.run_sync(diff)
