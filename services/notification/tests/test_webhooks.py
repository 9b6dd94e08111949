"""Webhooks: signed CloudEvents a receiver can verify, retries then parking, replay, SSRF refusals, ownership."""

import json
import socket
import uuid
from datetime import date
from decimal import Decimal

import pytest

from pfms_contracts.savings import GoalAchieved
from pfms_notification import signing
from pfms_notification.models import WebhookEndpoint

pytestmark = pytest.mark.integration


def goal(user: uuid.UUID) -> GoalAchieved:
    return GoalAchieved(
        user_id=user,
        goal_id=uuid.uuid4(),
        goal_name="Bike",
        target_amount=Decimal("500.00"),
        saved_amount=Decimal("500.00"),
        currency="EUR",
        achieved_on=date(2026, 11, 26),
    )


async def register(env, user: uuid.UUID, url: str, **extra) -> dict:
    body = {"url": url, "event_types": ["goal.achieved"], **extra}
    response = await env.svc.client.post("/api/v1/notifications/webhooks", json=body, headers=env.keys.auth(user))
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def history(env, user: uuid.UUID, hook: str) -> list[dict]:
    response = await env.svc.client.get(
        f"/api/v1/notifications/webhooks/{hook}/deliveries", headers=env.keys.auth(user)
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_a_receiver_verifies_the_signed_cloudevent(env, receiver) -> None:
    user = await env.person()
    hook = await register(env, user, f"{receiver.url}/hooks/pfms")
    assert hook["secret"].startswith("whsec_")
    listed = await env.svc.client.get("/api/v1/notifications/webhooks", headers=env.keys.auth(user))
    assert "secret" not in listed.json()["data"][0], "the secret is shown once"
    event = await env.publish(goal(user), source="savings")
    await env.until(lambda: _received(receiver, 1))
    call = receiver.requests[0]
    headers = call["headers"]
    assert call["path"] == "/hooks/pfms" and headers["content-type"] == "application/cloudevents+json"
    assert signing.verify(
        hook["secret"],
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        call["body"],
        headers["webhook-signature"],
    )
    body = json.loads(call["body"])
    assert body["id"] == event.id == headers["webhook-id"]
    assert body["type"] == "goal.achieved" and body["specversion"] == "1.0"
    assert body["data"]["goal_name"] == "Bike"

    async def delivered() -> bool:
        rows = await history(env, user, hook["id"])
        return len(rows) == 1 and rows[0]["status"] == "delivered"

    await env.until(delivered)


async def _received(receiver, n: int) -> bool:
    return len(receiver.requests) >= n


async def test_binary_mode_puts_the_attributes_in_headers_and_a_rotated_secret_signs_from_then_on(
    env, receiver
) -> None:
    user = await env.person()
    hook = await register(env, user, receiver.url + "/bin", mode="binary")
    rotated = await env.svc.client.post(
        f"/api/v1/notifications/webhooks/{hook['id']}/rotate-secret", headers=env.keys.auth(user)
    )
    secret = rotated.json()["data"]["secret"]
    assert secret != hook["secret"]
    await env.publish(goal(user), source="savings")
    await env.until(lambda: _received(receiver, 1))
    call = receiver.requests[0]
    h = call["headers"]
    assert h["ce-type"] == "goal.achieved" and h["ce-specversion"] == "1.0" and h["content-type"] == "application/json"
    assert json.loads(call["body"])["goal_name"] == "Bike"
    assert signing.verify(secret, h["webhook-id"], int(h["webhook-timestamp"]), call["body"], h["webhook-signature"])
    assert not signing.verify(
        hook["secret"], h["webhook-id"], int(h["webhook-timestamp"]), call["body"], h["webhook-signature"]
    )


async def test_a_failing_receiver_is_retried_then_parked_and_the_owner_replays_it(env, receiver) -> None:
    receiver.answers.extend([500, 500, 500])
    user = await env.person()
    hook = await register(env, user, receiver.url)
    await env.publish(goal(user), source="savings")

    async def status(expected: str) -> bool:
        rows = await history(env, user, hook["id"])
        return len(rows) == 1 and rows[0]["status"] == expected

    await env.until(lambda: status("parked"))
    row = (await history(env, user, hook["id"]))[0]
    assert row["attempts"] == 3 and row["last_error"] == "HTTP 500" and len(receiver.requests) == 3
    stranger = await env.person()
    replay_url = f"/api/v1/notifications/webhooks/{hook['id']}/deliveries/{row['id']}/replay"
    assert (await env.svc.client.post(replay_url, headers=env.keys.auth(stranger))).status_code == 404
    replayed = await env.svc.client.post(replay_url, headers=env.keys.auth(user))
    assert replayed.status_code == 200 and replayed.json()["data"]["status"] in ("pending", "delivered")
    await env.until(lambda: status("delivered"))
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1, "same message id on every try"


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.8/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://localhost/hook",
        "http://example.com/hook",
    ],
)
async def test_registration_refuses_private_and_special_addresses(start, url: str) -> None:
    env = await start(webhook_allow_loopback_http=False)
    user = await env.person()
    response = await env.svc.client.post(
        "/api/v1/notifications/webhooks",
        json={"url": url, "event_types": ["goal.achieved"]},
        headers=env.keys.auth(user),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "url"
    assert (await env.svc.client.get("/api/v1/notifications/webhooks", headers=env.keys.auth(user))).json()[
        "data"
    ] == []


async def test_a_hostname_resolving_to_a_private_address_is_refused(env) -> None:
    user = await env.person()
    response = await env.svc.client.post(
        "/api/v1/notifications/webhooks",
        json={"url": "https://rebind.example.test/hook", "event_types": ["goal.achieved"]},
        headers=env.keys.auth(user),
    )
    assert response.status_code == 422
    assert "private address (10.0.0.1)" in response.json()["error"]["message"]


@pytest.fixture(autouse=True)
def _resolve_test_hosts(monkeypatch) -> None:
    """`*.example.test` first resolves to loopback (the local receiver), and `rebind.example.test` to 10.0.0.1,
    standing in for DNS answers the test cannot publish."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "rebind.example.test":
            return real("10.0.0.1", port, *args, **kwargs)
        if isinstance(host, str) and host.endswith(".example.test"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


async def test_delivery_to_a_rebound_host_is_refused_and_parked(env) -> None:
    """DNS rebinding: the address is checked again at delivery, so a host now pointing inside gets nothing."""
    user = await env.person()
    hook = await register(env, user, "http://rebind-later.example.test:9/hook")
    async with env.svc.db.sessions() as session, session.begin():
        row = await session.get(WebhookEndpoint, uuid.UUID(hook["id"]))
        assert row is not None
        row.url = "http://rebind.example.test:9/hook"
    await env.publish(goal(user), source="savings")

    async def parked() -> bool:
        rows = await history(env, user, hook["id"])
        return len(rows) == 1 and rows[0]["status"] == "parked"

    await env.until(parked)
    assert "private address" in (await history(env, user, hook["id"]))[0]["last_error"]


async def test_webhooks_of_another_person_answer_404_and_bad_bodies_name_the_field(env, receiver) -> None:
    owner, stranger = await env.person(), await env.person()
    hook = await register(env, owner, receiver.url)
    client, theirs = env.svc.client, env.keys.auth(stranger)
    base = f"/api/v1/notifications/webhooks/{hook['id']}"
    assert (await client.get(base, headers=theirs)).status_code == 404
    assert (await client.patch(base, json={"active": False}, headers=theirs)).status_code == 404
    assert (await client.post(base + "/rotate-secret", headers=theirs)).status_code == 404
    assert (await client.get(base + "/deliveries", headers=theirs)).status_code == 404
    assert (await client.delete(base, headers=theirs)).status_code == 404
    bad = await client.post(
        "/api/v1/notifications/webhooks",
        json={"url": receiver.url, "event_types": ["auth.password_reset_requested"]},
        headers=env.keys.auth(owner),
    )
    assert bad.status_code == 422 and "event_types" in bad.json()["error"]["details"][0]["field"]
    edited = await client.patch(base, json={"active": False, "description": "off"}, headers=env.keys.auth(owner))
    assert edited.json()["data"]["active"] is False
    assert (await client.delete(base, headers=env.keys.auth(owner))).status_code == 204


async def test_the_gdpr_export_holds_the_persons_rows_but_not_the_webhook_secret(env, receiver) -> None:
    user = await env.person()
    hook = await register(env, user, receiver.url)
    await env.publish(goal(user), source="savings")
    await env.until(lambda: _received(receiver, 1))
    response = await env.svc.client.get(
        "/internal/v1/export", params={"user_id": str(user)}, headers=env.service_headers()
    )
    assert response.status_code == 200, response.text
    tables = response.json()["data"]["tables"]
    assert [r["id"] for r in tables["webhook_endpoints"]] == [hook["id"]]
    assert "secret" not in tables["webhook_endpoints"][0]
    assert len(tables["notifications"]) == 1 and len(tables["recipients"]) == 1
    assert hook["secret"] not in response.text
