"""The lean read path of a service's hot GET routes: plain asyncpg beside the SQLAlchemy engine.

Through the unit of work a list read costs BEGIN, a count, the page and COMMIT, an ORM object per row
and a pydantic model per row validated twice (once by the route, once by `response_model`). Here it
is one prepared statement on a connection of a small asyncpg pool — no transaction (a single SELECT
is atomic and sees one snapshot), no reset on release (a read leaves no session state), statements
prepared once per connection — and the answer is serialised once with orjson (`json_response`),
exactly as pydantic would write it. A read that finds its connection dead (the database restarted)
is retried once on a fresh one instead of pinging every checkout. Encrypted columns are not
decrypted here: routes that need one stay on the ORM. See services/user/src/pfms_user/reader.py,
where this was first measured.
"""

from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import Depends, Request, Response

from pfms_platform.spaces import Scope

DEAD_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a terminated backend can leave the protocol mid-operation
    ConnectionError,
)


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """Reads change no session state, so skip asyncpg's default reset round trip."""


async def _json_codecs(connection: asyncpg.Connection) -> None:
    """JSON columns arrive decoded, as through the engine."""
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads
        )


class ReadPool:
    """A service's pool of read connections; opened by the app factory, connecting on first use."""

    def __init__(self, database_url: str, *, size: int) -> None:
        self._dsn = database_url.replace("+asyncpg", "")
        self._size = size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        # min_size=0: like the engine, connect on first use, so startup never waits for the database.
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=0, max_size=self._size, reset=_nothing_to_reset, init=_json_codecs
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return await self._fetch(sql, args)
        except DEAD_CONNECTION:  # the database restarted since this connection was made
            return await self._fetch(sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def page(self, sql: str, *args: Any) -> tuple[int, list[asyncpg.Record]]:
        """(total, rows) of a `page_statement`: a page and its total from one snapshot."""
        records = await self.fetch(sql, *args)
        total = records[0]["total"] if records else 0
        return total, [r for r in records if r["in_page"]]

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[asyncpg.Record]:
        assert self._pool is not None, "ReadPool.open() runs at startup"
        async with self._pool.acquire() as connection:
            try:
                return await connection.fetch(sql, *args)
            except DEAD_CONNECTION:
                connection.terminate()  # never hand this connection to the next request
                raise


@dataclass
class Where:
    """A WHERE clause built from fixed fragments, every value a positional parameter:
    `where.add("amount >= {}", low)` appends the fragment with `{}` replaced by the next `$n`."""

    args: list[Any] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, fragment: str, *values: Any) -> None:
        self.parts.append(fragment.format(*(self.param(v) for v in values)))

    def scope(self, scope: Scope) -> None:
        """`Scope.owns` of pfms_platform.spaces: the personal rows of the user, or the space's rows."""
        if scope.space_id is None:
            self.add("user_id = {} AND space_id IS NULL", scope.user_id)
        else:
            self.add("space_id = {}", scope.space_id)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "true"


def page_statement(table: str, columns: str, where: str, order: str, limit: str, offset: str) -> str:
    """A page of `table` and the count of every row `where` matches, as one statement (`ReadPool.page`):
    rows of (total, in_page, columns…), or one row of (total, NULLs…) when the page is empty. `order` may
    name only selected columns (it sorts the outer query too); every fragment is fixed text of the
    caller's, every value a `$n` parameter, so each shape is one prepared statement per connection."""
    return (
        f"WITH total AS (SELECT count(*) AS total FROM {table} WHERE {where}),"  # noqa: S608 (fixed fragments)
        f" page AS (SELECT true AS in_page, {columns} FROM {table} WHERE {where}"
        f" ORDER BY {order} LIMIT {limit} OFFSET {offset})"
        f" SELECT total.total, page.* FROM total LEFT JOIN page ON true ORDER BY {order}"
    )


async def _reads(request: Request) -> ReadPool:
    """Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a handoff per request."""
    pool: ReadPool = request.app.state.reads
    return pool


Reads = Annotated[ReadPool, Depends(_reads)]


def json_response(body: dict[str, Any], status_code: int = 200) -> Response:
    """Serialise once with orjson, as pydantic's JSON mode would (UUIDs, dates and Decimals as strings,
    UTC as `Z`); the body must already hold what `response_model` would have produced, in its field order."""
    return Response(
        orjson.dumps(body, default=str, option=orjson.OPT_UTC_Z), status_code=status_code, media_type="application/json"
    )
