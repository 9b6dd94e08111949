"""The fleet's success envelope and pagination (seed dhanam-ledger §3)."""

import math
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from pfms_platform.logging import correlation_id

T = TypeVar("T")

MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000
"""The last page a list serves: past it `(page - 1) * limit` overflows PostgreSQL's bigint OFFSET (a
500 found by fuzzing); a million pages of a hundred is beyond any list a person owns."""


def meta() -> dict[str, Any]:
    return {"request_id": correlation_id.get(), "timestamp": datetime.now(UTC).isoformat()}


class Meta(BaseModel):
    request_id: str | None = None
    timestamp: str


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T
    meta: Meta


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    pages: int
    has_next: bool


class PageEnvelope(BaseModel, Generic[T]):
    success: bool = True
    data: list[T]
    pagination: Pagination
    meta: Meta


class PageParams(BaseModel):
    """Query parameters every list endpoint accepts."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "meta": meta()}


def paged(items: list[Any], params: PageParams, total: int) -> dict[str, Any]:
    return {
        "success": True,
        "data": items,
        "pagination": {
            "page": params.page,
            "limit": params.limit,
            "total": total,
            "pages": math.ceil(total / params.limit) if total else 0,
            "has_next": params.offset + len(items) < total,
        },
        "meta": meta(),
    }
