"""`Idempotency-Key` on money-moving POSTs: a retry with the same key and body gets the first answer.

The key row is inserted in the request's own transaction before the money moves. A parallel request
with the same key waits on that row's unique index until the first commits, then finds the stored
answer; if the first failed (rolled back), the key was never kept and the retry runs afresh. The same
key with another body (or on another route) is a 422. Keys are kept `idempotency_ttl_hours` (24 h);
an expired key is forgotten when it is next used.
"""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts.models import IdempotencyKey
from pfms_platform.errors import Conflict, Invalid

KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Any unique string per intended operation (a UUID); a retry with it gets the first answer",
    ),
]


def fingerprint(request: Request, body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


async def claim(
    session: AsyncSession, user_id: uuid.UUID, key: str, print_: str, ttl_hours: int
) -> dict[str, Any] | None:
    """None when this request holds the key now (go on, then `keep` the answer); else the first answer."""
    now = datetime.now(UTC)
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at <= now
        )
    )
    held = await session.scalar(
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, fingerprint=print_, expires_at=now + timedelta(hours=ttl_hours))
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if held is not None:
        return None
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is None or row.response is None:  # deleted or still open: the first attempt is in flight
        raise Conflict(
            "A request with this Idempotency-Key is in progress; retry shortly", code="IDEMPOTENCY_IN_PROGRESS"
        )
    if row.fingerprint != print_:
        raise Invalid(
            "This Idempotency-Key was used with a different request",
            field="Idempotency-Key",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return row.response


async def keep(session: AsyncSession, user_id: uuid.UUID, key: str, data: dict[str, Any]) -> None:
    await session.execute(
        update(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key).values(response=data)
    )


def replayed(response: Response) -> None:
    response.headers["Idempotent-Replayed"] = "true"
