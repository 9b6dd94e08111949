"""Transactions imported by the accounts service (`account.transaction_imported`), taken once each by the
service that records them — expense the debits, income the credits.

Both keep a table of what they took, one row per (user, source, provider id): `ImportedRecord` holds its
shared columns (each service adds the link to its own row and the `matched` flag), `take` claims an
import exactly once under redelivery, and `reference` is the `import_ref` every event about the recorded
expense or income carries, so the accounts service knows not to book a card spend twice.
"""

import uuid
from datetime import datetime
from typing import TypeVar

from sqlalchemy import String, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from pfms_contracts.accounts import TransactionImported, TransactionRevised
from pfms_contracts.imported import ImportRef
from pfms_platform.db import utcnow


class ImportedRecord:
    """Columns of a service's table of taken imports (a mixin: the service's model adds its own link)."""

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    transaction_id: Mapped[uuid.UUID]
    posted: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


Record = TypeVar("Record", bound=ImportedRecord)


async def take(session: AsyncSession, model: type[Record], data: TransactionImported) -> Record | None:
    """The new row for this import, or None when it was taken before (a redelivery: record nothing)."""
    taken = await session.scalar(
        insert(model)
        .values(
            user_id=data.user_id,
            source=data.source,
            external_id=data.external_id,
            transaction_id=data.transaction_id,
            posted=data.posted,
            matched=False,
        )
        .on_conflict_do_nothing()
        .returning(model.external_id)
    )
    if taken is None:
        return None
    return await session.get_one(model, (data.user_id, data.source, data.external_id))


async def taken(
    session: AsyncSession, model: type[Record], user_id: uuid.UUID, source: str, external_id: str
) -> Record | None:
    """The row of an import taken before, locked (a revision or removal of it is applied once at a time)."""
    return await session.get(model, (user_id, source, external_id), with_for_update=True)


def description(data: TransactionImported | TransactionRevised) -> str:
    """What the recorded expense or income is called: a revision compares against the same rule."""
    return data.description or data.merchant or "Bank transaction"


def reference(data: TransactionImported) -> ImportRef:
    return ImportRef(
        source=data.source, transaction_id=data.transaction_id, external_id=data.external_id, posted=data.posted
    )
