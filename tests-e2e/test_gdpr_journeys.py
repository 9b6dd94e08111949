"""Issue 9, GDPR, through the gateway: a person with data in every service asks for their export (it
holds every service's section with their rows), then deletes the account; afterwards each store is
checked directly, not through the services' APIs:

- every PostgreSQL database of the fleet: no row in any table with a `user_id` (or `*_user_id`)
  column equal to the person's id (the columns are found in `information_schema`, so a table added
  later is checked without touching this test);
- the ai service's MongoDB: no document with their `user_id` in any collection;
- Redis: no key naming their id (rate-limit counters, caches);
- the object store: nothing under their prefix (the export zip was there before).

Before the deletion the same checks find the person's data, so an empty answer afterwards means purged,
not never written.
"""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import boto3
import httpx
import pytest
from journeys import PASSWORD, Person, sign_up
from motor.motor_asyncio import AsyncIOMotorClient
from redis.asyncio import Redis

from pfms_local.fleet import Fleet, wait_for
from pfms_platform.catalogue import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OWNER_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'public' AND (column_name = 'user_id' OR column_name LIKE '%\\_user\\_id')
ORDER BY table_name, column_name
"""
WITH_DATA = ("auth", "user", "expense", "income", "investment", "loan", "group", "tax", "savings", "automation")
"""Services the journey writes to synchronously (notification, report and ai are waited for)."""


async def _post(gateway: httpx.AsyncClient, path: str, person: Person, body: dict[str, Any] | None = None) -> Any:
    response = await gateway.post(path, json=body, headers=person.headers)
    assert response.status_code in (200, 201, 202), (path, response.text)
    return response.json()["data"]


async def postgres_rows(fleet: Fleet, user_id: str) -> dict[str, dict[str, int]]:
    """Rows naming the user, per service database and `table.column` (zero counts left out)."""
    found: dict[str, dict[str, int]] = {}
    for name, database in fleet.databases.items():
        if not any(s.name == name and s.store == "postgres" for s in SERVICES):
            continue
        connection = await asyncpg.connect(fleet.stack.postgres.url(database, driver="postgresql"))
        try:
            for table, column in await connection.fetch(OWNER_COLUMNS):
                count = await connection.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text = $1',
                    user_id,
                )
                if count:
                    found.setdefault(name, {})[f"{table}.{column}"] = count
        finally:
            await connection.close()
    return found


async def mongo_documents(fleet: Fleet, user_id: str) -> dict[str, int]:
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(fleet.stack.mongo.url(), uuidRepresentation="standard")
    try:
        db = client[fleet.mongo_database]
        counts = {
            name: await db[name].count_documents({"user_id": user_id}) for name in await db.list_collection_names()
        }
    finally:
        client.close()
    return {name: n for name, n in counts.items() if n}


async def redis_keys(fleet: Fleet, user_id: str) -> list[str]:
    redis = Redis.from_url(fleet.stack.redis.url(fleet.redis_db), decode_responses=True)
    try:
        return sorted([key async for key in redis.scan_iter(match=f"*{user_id}*")])
    finally:
        await redis.aclose()


def stored_objects(fleet: Fleet, user_id: str) -> list[str]:
    s3 = fleet.stack.s3
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name=s3.region,
    )
    keys: list[str] = []
    for bucket in client.list_buckets()["Buckets"]:
        listed = client.list_objects_v2(Bucket=bucket["Name"], Prefix=f"{user_id}/")
        keys += [f"{bucket['Name']}/{o['Key']}" for o in listed.get("Contents", [])]
    return keys


async def _data_everywhere(gateway: httpx.AsyncClient, person: Person) -> None:
    today = datetime.now(UTC).date()
    category = await _post(gateway, "/api/v1/categories", person, {"name": "GDPR groceries"})
    expense = {"amount": "42.50", "currency": "USD", "expense_date": today.isoformat(), "category_id": category["id"]}
    await _post(gateway, "/api/v1/expenses", person, {**expense, "description": "UBER *TRIP"})
    income = {"type": "salary", "amount": "3000.00", "currency": "USD", "date": today.isoformat()}
    await _post(gateway, "/api/v1/income/transactions", person, income)
    await _post(gateway, "/api/v1/portfolios", person, {"name": "GDPR portfolio", "base_currency": "USD"})
    contact = await _post(gateway, "/api/v1/contacts", person, {"contact_type": "external", "name": "Karim"})
    loan = {
        "type": "lent",
        "contact_id": contact["id"],
        "principal_amount": "300.00",
        "currency": "USD",
        "interest_rate": "0",
        "start_date": today.isoformat(),
    }
    await _post(gateway, "/api/v1/loans", person, loan)
    await _post(gateway, "/api/v1/groups", person, {"name": "GDPR trip", "group_type": "trip", "currency": "EUR"})
    profile = {"country_code": "US", "filing_status": "single"}
    assert (await gateway.put("/api/v1/tax/profiles/2024", json=profile, headers=person.headers)).status_code == 200
    goal = {
        "name": "GDPR fund",
        "category": "emergency_fund",
        "target_amount": "500.00",
        "currency": "USD",
        "target_date": (today + timedelta(days=365)).isoformat(),
    }
    await _post(gateway, "/api/v1/savings/goals", person, goal)
    rule = {
        "name": "GDPR rule",
        "trigger": {"event": "expense.created"},
        "conditions": {"all": [{"field": "description", "op": "contains", "value": "NEVER-MATCHES"}]},
        "actions": [{"type": "add_tags", "tags": ["x"]}],
    }
    await _post(gateway, "/api/v1/automation/rules", person, rule)


async def _export(gateway: httpx.AsyncClient, person: Person) -> dict[str, dict[str, Any]]:
    job = await _post(gateway, "/api/v1/reports/export", person)

    async def finished() -> dict[str, Any] | None:
        data: dict[str, Any] = (await gateway.get(f"/api/v1/reports/{job['id']}", headers=person.headers)).json()[
            "data"
        ]
        return data if data["status"] in ("completed", "failed") else None

    done = await wait_for(finished, timeout=90, message="export finished")
    assert done["status"] == "completed", done
    download = await gateway.get(f"/api/v1/reports/{job['id']}/download", headers=person.headers)
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        return {name.removesuffix(".json"): json.loads(archive.read(name)) for name in archive.namelist()}


async def test_export_holds_every_service_and_deletion_empties_every_store(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    person = await sign_up(gateway)
    await _data_everywhere(gateway, person)

    async def in_ai_and_notification() -> bool:
        rows = await postgres_rows(fleet, person.user_id)
        return "notification" in rows and bool(await mongo_documents(fleet, person.user_id))

    await wait_for(in_ai_and_notification, timeout=30, message="the ai and notification services hold the person")

    export = await _export(gateway, person)
    assert set(export) == {s.name for s in SERVICES} | {"manifest"}, sorted(export)
    assert export["manifest"]["user_id"] == person.user_id
    for name in (*WITH_DATA, "ai", "notification"):
        tables = export[name].get("tables") or export[name].get("collections") or {}
        assert any(tables.values()), f"{name} export holds none of the person's rows: {export[name]}"

    before = await postgres_rows(fleet, person.user_id)
    assert set(WITH_DATA) | {"notification", "report"} <= set(before), before
    assert stored_objects(fleet, person.user_id), "the export zip is in the object store"
    assert await redis_keys(fleet, person.user_id), "rate-limit counters name the person"

    deleted = await gateway.request(
        "DELETE", "/api/v1/auth/account", json={"password": PASSWORD}, headers=person.headers
    )
    assert deleted.status_code == 200, deleted.text

    async def purged() -> dict[str, Any] | None:
        left = {
            "postgres": await postgres_rows(fleet, person.user_id),
            "mongo": await mongo_documents(fleet, person.user_id),
            "redis": await redis_keys(fleet, person.user_id),
            "objects": stored_objects(fleet, person.user_id),
        }
        return None if any(left.values()) else left

    try:
        await wait_for(purged, timeout=90, interval=1.0, message="every store purged")
    except TimeoutError:
        left = {
            "postgres": await postgres_rows(fleet, person.user_id),
            "mongo": await mongo_documents(fleet, person.user_id),
            "redis": await redis_keys(fleet, person.user_id),
            "objects": stored_objects(fleet, person.user_id),
        }
        pytest.fail(f"left behind after the account was deleted: {left}")
