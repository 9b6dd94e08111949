"""Async SQLAlchemy 2 for a service's own PostgreSQL: one engine, one unit of work per request."""

import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Numeric, String, Table, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(19, 4, asdecimal=True)
"""Money column: 15 integer digits and 4 decimals, always a Decimal in Python."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Each service's tables derive from this; the outbox and inbox live here too."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        Decimal: Money,
        uuid.UUID: PG_UUID(as_uuid=True),
        str: String(),
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class Database:
    """Owns the engine and the session factory of one service."""

    def __init__(self, url: str, *, pool_size: int = 10, service: str = "pfms") -> None:
        # No pre-ping: it costs three round trips per checkout. A connection broken by a database
        # restart fails the one statement that finds it, and SQLAlchemy then invalidates the whole
        # pool, so later requests get fresh connections.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
        )
        # `service` rides on every session so the outbox can stamp each event's source.
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info={"service": service})

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """Unit of work per request: commit on success, roll back on any error."""
    db: Database = request.app.state.db
    async with db.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a 2xx means committed.
Session = Annotated[AsyncSession, Depends(_session, scope="function")]


OPT_IN = "opt_in"
"""`Table.info` key of a platform table only the services that adopt it carry (the spaces read model):
it belongs to a service when the service's `models` module imports its class."""


def _adopted(package: str) -> set[Any]:
    models = sys.modules.get(f"{package}.models")
    return {value for value in vars(models).values() if isinstance(value, type)} if models else set()


def service_metadata(package: str) -> MetaData:
    """The tables one service owns (classes mapped in `package`) plus the platform's outbox and inbox
    (and the opt-in platform tables its models module imports).

    All services map onto one `Base`, so in a process that imports several of them (the test
    suite) `Base.metadata` holds every service's tables; migrations and schema checks use this.
    """
    owners = (package, "pfms_platform")
    adopted = _adopted(package)
    tables = [
        mapper.local_table
        for mapper in Base.registry.mappers
        if mapper.class_.__module__.split(".")[0] in owners
        and isinstance(mapper.local_table, Table)
        and (not mapper.local_table.info.get(OPT_IN) or mapper.class_ in adopted)
    ]
    metadata = MetaData(naming_convention=NAMING)
    for table in sorted(tables, key=lambda t: t.name):
        table.to_metadata(metadata)
    return metadata


def sync_url(url: str) -> str:
    """Alembic's offline helpers and psql want the plain driver name."""
    return url.replace("+asyncpg", "")


def row_dict(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}
