"""The lean read path (pfms_platform.reads) against a real PostgreSQL: a page and its total from one
statement, scoped like `Scope.owns`, JSON decoded, and a read that outlives its backend retried."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import orjson

from pfms_devservers import Stack
from pfms_platform.envelope import PageParams, paged
from pfms_platform.reads import ReadPool, Where, json_response, page_statement
from pfms_platform.spaces import Scope
from pfms_platform.testing.fixtures import _admin

COLUMNS = "id, amount, meta, created_at"


async def test_pages_scopes_decodes_and_survives_a_restarted_backend(stack: Stack) -> None:
    name = f"t_reads_{uuid.uuid4().hex[:10]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    me, space = uuid.uuid4(), uuid.uuid4()
    setup = await asyncpg.connect(url.replace("+asyncpg", ""))
    await setup.execute(
        "CREATE TABLE items (id int PRIMARY KEY, user_id uuid, space_id uuid, amount numeric(19,4),"
        " meta jsonb, created_at timestamptz)"
    )
    rows = [
        (i, me, space if i > 4 else None, Decimal(i), orjson.dumps({"n": i}).decode(), datetime.now(UTC))
        for i in range(1, 8)
    ]
    await setup.executemany("INSERT INTO items VALUES ($1, $2, $3, $4, $5::jsonb, $6)", rows)
    pool = ReadPool(url, size=2)
    await pool.open()
    try:

        async def page(scope: Scope, limit: int, offset: int) -> tuple[int, list[int]]:
            where = Where()
            where.scope(scope)
            where.add("amount >= {}", Decimal(1))
            sql = page_statement("items", COLUMNS, where.sql, "id DESC", where.param(limit), where.param(offset))
            total, found = await pool.page(sql, *where.args)
            assert all(r["meta"] == {"n": r["id"]} for r in found)  # JSON arrives decoded
            return total, [r["id"] for r in found]

        assert await page(Scope(me, None, "owner"), 3, 0) == (4, [4, 3, 2])
        assert await page(Scope(me, None, "owner"), 3, 3) == (4, [1])
        assert await page(Scope(me, None, "owner"), 3, 6) == (4, [])  # past the end: the total still
        assert await page(Scope(uuid.uuid4(), space, "viewer"), 10, 0) == (3, [7, 6, 5])
        assert await pool.fetchval("SELECT count(*) FROM items WHERE user_id = $1", uuid.uuid4()) == 0

        await setup.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        assert await page(Scope(me, None, "owner"), 2, 0) == (4, [4, 3])  # retried on a fresh connection
    finally:
        await pool.close()
        await setup.close()
        await _admin(stack, f'DROP DATABASE "{name}"')

    body = paged([{"amount": Decimal("1.50"), "at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)}], PageParams(), 1)
    sent = orjson.loads(json_response(body).body)
    assert sent["data"] == [{"amount": "1.50", "at": "2026-01-02T03:04:05.000006Z"}]  # as pydantic writes them
