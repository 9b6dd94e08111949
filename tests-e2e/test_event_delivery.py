"""Events survive a broker outage and a crashed relay, and arrive exactly once (issue 3 §7)."""

import asyncio
import json
import uuid

import aio_pika
import asyncpg
import httpx
import pytest
from journeys import PASSWORD, query, settle

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


async def created_events(fleet: Fleet, emails: list[str]) -> list[asyncpg.Record]:
    return await query(
        fleet,
        "auth",
        "SELECT id, payload, sent_at FROM outbox"
        " WHERE routing_key = 'user.created' AND payload->'data'->>'email' = ANY($1)",
        emails,
    )


async def profiles_by_email(fleet: Fleet, emails: list[str]) -> dict[str, int]:
    rows = await query(
        fleet, "user", "SELECT email, count(*) AS n FROM user_profiles WHERE email = ANY($1) GROUP BY email", emails
    )
    return {r["email"]: r["n"] for r in rows}


async def duplicates_seen(fleet: Fleet) -> float:
    """The user service's count of events it received again and skipped (its inbox said: applied)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(fleet.url("user") + "/metrics")).text
    prefix = 'events_consumed_total{outcome="duplicate",service="user",type="user.created"}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


async def test_broker_outage_and_killed_relay_lose_no_event_and_apply_none_twice(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    rabbit = fleet.stack.rabbitmq
    emails = [f"outage-{uuid.uuid4().hex[:10]}@example.com" for _ in range(12)]
    await asyncio.to_thread(rabbit.stop)
    try:
        # The writes are acknowledged while the broker is down: auth commits users and their events together.
        answers = await asyncio.gather(
            *(gateway.post("/api/v1/auth/register", json={"email": e, "password": PASSWORD}) for e in emails)
        )
        assert [a.status_code for a in answers] == [202] * len(emails)
        pending = await created_events(fleet, emails)
        assert len(pending) == len(emails) and all(r["sent_at"] is None for r in pending)
        fleet.kill("auth")  # the relay dies with its rows unpublished
    finally:
        await asyncio.to_thread(rabbit.start)
        await asyncio.to_thread(rabbit.wait, 90)
    await fleet.restart("auth")

    async def all_profiles() -> bool:
        return len(await profiles_by_email(fleet, emails)) == len(emails)

    await wait_for(all_profiles, timeout=60, message="a profile for every user registered during the outage")
    await settle(1)
    assert set((await profiles_by_email(fleet, emails)).values()) == {1}
    sent = await created_events(fleet, emails)
    assert all(r["sent_at"] is not None for r in sent)
    applied = await query(
        fleet,
        "user",
        "SELECT event_id FROM inbox WHERE consumer = 'user' AND event_id = ANY($1)",
        [str(r["id"]) for r in sent],
    )
    assert len(applied) == len(emails)


async def test_a_redelivered_user_created_changes_nothing(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    email = f"redeliver-{uuid.uuid4().hex[:10]}@example.com"
    assert (await gateway.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})).status_code == 202

    async def one_profile() -> bool:
        return (await profiles_by_email(fleet, [email])).get(email) == 1

    await wait_for(one_profile, timeout=20, message="the profile")
    [event] = await created_events(fleet, [email])
    duplicates_before = await duplicates_seen(fleet)
    connection = await aio_pika.connect(fleet.stack.rabbitmq.url(fleet.vhost))
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("user.events")
        for _ in range(3):
            payload = event["payload"] if isinstance(event["payload"], str) else json.dumps(event["payload"])
            await exchange.publish(aio_pika.Message(payload.encode(), message_id=str(event["id"])), "user.created")
    finally:
        await connection.close()

    async def all_three_seen() -> bool:
        return await duplicates_seen(fleet) - duplicates_before == 3

    await wait_for(all_three_seen, timeout=20, message="the user service to receive the three copies")
    assert (await profiles_by_email(fleet, [email])) == {email: 1}
    inbox = await query(fleet, "user", "SELECT count(*) AS n FROM inbox WHERE event_id = $1", str(event["id"]))
    assert inbox[0]["n"] == 1
