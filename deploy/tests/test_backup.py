"""Backups and recovery (deploy/backup/backup.py): a consumer's database is lost, restored from its
logical backup into a fresh one, and caught up from its producer's retained events (`outbox-replay`)."""

import asyncio
import importlib.util
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pymongo import MongoClient
from sqlalchemy import func, select

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.identity import UserCreated
from pfms_devservers import Stack
from pfms_expense.models import UserSettings
from pfms_income.events import HANDLERS
from pfms_income.models import ExpenseFact, ProjectionInputs
from pfms_platform.catalogue import service
from pfms_platform.db import Database
from pfms_platform.events.consumer import Consumer, Delivery
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.testing import Running
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.helpers import publish_event, until

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[1] / "backup/backup.py"


def load_backup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pfms_backup", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Counting(Consumer):
    """The platform's consumer, noting for each delivery whether it applied it or its inbox skipped it."""

    outcomes: list[bool]

    async def apply(self, event: CloudEvent, data: EventData) -> bool:
        applied = await super().apply(event, data)
        self.outcomes.append(applied)
        return applied

    async def apply_batch(self, batch: list[Delivery]) -> set[str]:
        """Deliveries waiting together are applied in one transaction: each one's outcome, in order."""
        applied = await super().apply_batch(batch)
        seen: set[str] = set()
        for delivery in batch:
            self.outcomes.append(delivery.event.id in applied and delivery.event.id not in seen)
            seen.add(delivery.event.id)
        return applied


async def read_model(db: Database) -> dict[str, Any]:
    """Everything income derived from expense events: its copies, the per-user versions every applied
    event bumps (one applied twice would show here), and the ids its inbox recorded."""
    async with db.sessions() as session:
        facts = await session.scalars(select(ExpenseFact).order_by(ExpenseFact.expense_id))
        versions = await session.execute(select(ProjectionInputs.user_id, ProjectionInputs.version))
        inbox = await session.scalars(select(InboxEvent.event_id).order_by(InboxEvent.event_id))
        return {
            "facts": [(f.expense_id, f.amount, f.currency, f.expense_date, f.category_id, f.deleted) for f in facts],
            "versions": sorted((u, v) for u, v in versions),
            "inbox": list(inbox),
        }


@pytest.fixture
async def spare_database(stack: Stack) -> AsyncIterator[str]:
    """A name for the fresh database the backup goes into; dropped after the services using it stopped."""
    name = f"t_restored_{uuid.uuid4().hex[:10]}"
    yield name
    await _admin(stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_restored_consumer_catches_up_from_its_producers_events(
    spare_database: str, make_service: Callable[..., Awaitable[Running]], stack: Stack, jwt_keys: Any, tmp_path: Path
) -> None:
    backup = load_backup()
    expense = await make_service("expense", service_urls={"market-data": "http://127.0.0.1:9"})
    income = await make_service("income")
    user_id = uuid.uuid4()
    created = UserCreated(user_id=user_id, email=f"{user_id.hex[:8]}@example.com", created_at=datetime.now(UTC))
    await publish_event(expense.settings.amqp_url, created, source="auth")
    headers = jwt_keys.auth(user_id)
    url = "/api/v1/expenses"

    async def signed_up() -> bool:
        return await expense.count(UserSettings, UserSettings.user_id == user_id) == 1

    async def add(amount: str) -> str:
        body = {"amount": amount, "currency": "USD", "expense_date": "2026-03-10"}
        response = await expense.client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def facts(n: int, deleted: int = 0) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            model = await read_model(income.db)
            return len(model["facts"]) == n and sum(f[-1] for f in model["facts"]) == deleted

        return check

    await until(signed_up, timeout=15)
    first, second = await add("10.00"), await add("20.00")
    await until(facts(2), timeout=15)

    # The backup: a pg_dump of income's database, named by service and UTC time.
    server = stack.postgres.url("postgres", driver="postgresql")
    lost = income.settings.database_url.rsplit("/", 1)[1]
    taken = backup.dump(service("income"), server, tmp_path, database=lost)
    assert taken.path.name.startswith("income-") and taken.path.name.endswith("Z.dump")
    assert backup.Backup.of(taken.path).taken_at == taken.taken_at
    at_backup = await read_model(income.db)

    # Life goes on: one more expense, one changed, one deleted; income follows.
    await add("30.00")
    assert (await expense.client.patch(f"{url}/{first}", json={"amount": "15.00"}, headers=headers)).is_success
    assert (await expense.client.delete(f"{url}/{second}", headers=headers)).is_success
    await until(facts(3, deleted=1), timeout=15)
    before_loss = await read_model(income.db)

    # The loss: income stops and its database is gone; the backup goes into a fresh one.
    await income.app.state.bus.close()
    await _admin(stack, f'DROP DATABASE "{lost}" WITH (FORCE)')
    restored_file = backup.Backup.of(taken.path)
    assert backup.restore(restored_file, server, database=spare_database) == spare_database
    with pytest.raises(SystemExit, match="empty database"):
        backup.restore(restored_file, server, database=spare_database)  # never over data
    restored = await make_service("income", database=spare_database, consumers_enabled=False)
    assert await read_model(restored.db) == at_backup  # what happened after the backup is missing

    # The catch-up: expense sends its retained events since the backup (less a margin) to income alone.
    consumer = Counting(restored.db, restored.app.state.bus, "income", HANDLERS)
    consumer.outcomes = []
    running = asyncio.create_task(consumer.run())
    try:
        await consumer.ready.wait()
        since = (taken.taken_at - backup.REPLAY_MARGIN).isoformat()
        command = next(c for c in backup.replay_commands(taken) if c.startswith("pfms-expense "))
        assert command == f"pfms-expense outbox-replay --since {since.replace('+00:00', 'Z')} --to income"
        env = {
            **os.environ,
            "PFMS_EXPENSE_DATABASE_URL": expense.settings.database_url,
            "PFMS_EXPENSE_AMQP_URL": expense.settings.amqp_url,
        }
        cli = Path(sys.executable).parent / "pfms-expense"
        done = await asyncio.create_subprocess_exec(
            str(cli), *command.split()[1:], env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await done.communicate()
        assert done.returncode == 0, err.decode()[-2000:]
        summary = out.decode().strip().splitlines()[-1]  # after the log lines: "5 event(s) since … sent again to …"
        assert summary.endswith("sent again to income.events"), summary
        sent = int(summary.split()[0])
        async with expense.db.sessions() as session:
            handled = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.routing_key.in_(list(HANDLERS)), OutboxEvent.sent_at.is_not(None))
            )
        assert sent == handled == 5  # two creations before the backup; a creation, an update, a deletion after

        async def all_delivered() -> bool:
            return len(consumer.outcomes) == sent

        await until(all_delivered, timeout=20)
        assert consumer.outcomes.count(True) == 3, "only what the backup lacked is applied; the inbox skips the rest"
        assert await read_model(restored.db) == before_loss
    finally:
        running.cancel()


def test_the_ai_services_mongo_database_is_dumped_and_restored_into_an_empty_one(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = load_backup()
    source, target = (f"t_ai_{uuid.uuid4().hex[:10]}" for _ in range(2))
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongo.url())
    try:
        now = datetime.now(UTC)
        documents = [{"_id": uuid.uuid4().hex, "user_id": str(uuid.uuid4()), "n": n, "at": now} for n in range(2500)]
        client[source]["insights"].insert_many(documents)
        client[source]["inbox"].insert_one({"_id": "e1", "consumer": "ai", "event_id": "e1"})
        client[source]["inbox"].create_index([("consumer", 1), ("event_id", 1)], unique=True)
        # the CLI, into the catalogue's database name; then a named one
        assert backup.main(["dump", "ai", "--url", stack.mongo.url(), "--out", str(tmp_path)]) == 0
        written = Path(capsys.readouterr().out.strip())
        assert re.fullmatch(r"ai-\d{8}T\d{6}Z\.mongo\.zip", written.name)
        taken = backup.dump(service("ai"), stack.mongo.url(), tmp_path / "named", database=source)
        assert backup.main(["restore", str(taken.path), "--url", stack.mongo.url(), "--database", target]) == 0
        assert "outbox-replay --since" in capsys.readouterr().out
        for name in ("insights", "inbox"):
            got = list(client[target][name].find({}, sort=[("_id", 1)]))
            assert got == list(client[source][name].find({}, sort=[("_id", 1)]))
        unique = [i for i in client[target]["inbox"].index_information().values() if i.get("unique")]
        assert [list(i["key"]) for i in unique] == [[("consumer", 1), ("event_id", 1)]]
        with pytest.raises(SystemExit, match="empty database"):
            backup.restore(taken, stack.mongo.url(), database=target)
    finally:
        for name in (source, target, service("ai").database):
            client.drop_database(name)
        client.close()


def test_file_names_and_server_urls() -> None:
    backup = load_backup()
    parsed = backup.Backup.of(Path("/x/market-data-20261126T020304Z.dump"))
    assert (parsed.service.name, parsed.taken_at) == ("market-data", datetime(2026, 11, 26, 2, 3, 4, tzinfo=UTC))
    for wrong in ("income.dump", "nobody-20261126T020304Z.dump", "income-20261126T020304Z.sql"):
        with pytest.raises((ValueError, StopIteration)):
            backup.Backup.of(Path(wrong))
    assert (
        backup.database_url("postgresql+asyncpg://u:p%2F@db:5432/pfms_user?sslmode=require", "pfms_income")
        == "postgresql://u:p%2F@db:5432/pfms_income?sslmode=require"
    )
    with pytest.raises(SystemExit, match="database name"):
        backup.restore(parsed, "postgresql://db", database='x"; DROP DATABASE y; --')
