"""Registration and sign-in: events, non-disclosure, argon2 rehash, lockout and the per-IP limit."""

import asyncio

import aio_pika
import orjson
import pytest
from sqlalchemy import select

from pfms_auth.models import EmailVerificationToken, Session, User
from pfms_auth.passwords import Argon2Params, Hasher

from .conftest import PASSWORD, Harness

pytestmark = pytest.mark.integration

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


def _strip_meta(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "meta"}


async def test_register_creates_the_account_and_announces_it(auth: Harness) -> None:
    person = await auth.register("New.Person@Example.com")
    assert person.email == "new.person@example.com"
    user = await auth.scalar(select(User).where(User.id == person.user_id))
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in user.password_hash
    assert not user.email_verified and user.is_active

    [created] = await auth.events("user.created")
    assert created["subject"] == str(person.user_id)
    assert created["data"] == {
        "user_id": str(person.user_id),
        "email": person.email,
        "email_verified": False,
        "created_at": created["data"]["created_at"],
    }
    [verify] = await auth.events("auth.email_verification_requested")
    assert verify["data"]["user_id"] == str(person.user_id) and verify["data"]["email"] == person.email
    token = verify["data"]["token"]
    stored = await auth.scalar(select(EmailVerificationToken.token_hash))
    assert stored != token and len(stored) == 64  # only the digest is kept


async def test_user_created_reaches_the_broker(auth: Harness) -> None:
    connection = await aio_pika.connect(auth.svc.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("user.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="user.created")
        person = await auth.register()
        message = await asyncio.wait_for(_next(queue), timeout=10)
    event = orjson.loads(message.body)
    assert event["type"] == "user.created" and event["source"] == "auth"
    assert event["data"]["user_id"] == str(person.user_id)


async def _next(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    while True:
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            return message
        await asyncio.sleep(0.05)


async def test_registering_a_taken_email_answers_the_same_and_changes_nothing(auth: Harness) -> None:
    first = await auth.client.post(REGISTER, json={"email": "taken@example.com", "password": PASSWORD})
    again = await auth.client.post(REGISTER, json={"email": "TAKEN@example.com", "password": "another fine passphrase"})
    assert first.status_code == again.status_code == 202
    assert _strip_meta(first.json()) == _strip_meta(again.json())
    assert await auth.count(User) == 1
    assert len(await auth.events("user.created")) == 1
    assert len(await auth.events("auth.email_verification_requested")) == 1
    # the original password still works; the second one never became a credential
    ok = await auth.client.post(LOGIN, json={"email": "taken@example.com", "password": PASSWORD})
    assert ok.status_code == 200


async def test_register_refuses_weak_passwords_naming_the_field(auth: Harness) -> None:
    for password in ["short", "qwertyuiop12345", "weakling@example.com is me"]:
        response = await auth.client.post(REGISTER, json={"email": "weakling@example.com", "password": password})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == "password"
        assert password not in response.text
    assert await auth.count(User) == 0 and await auth.events() == []


async def test_login_returns_tokens_and_opens_a_session(auth: Harness) -> None:
    person = await auth.register()
    response = await auth.client.post(
        LOGIN, json={"email": person.email.upper(), "password": PASSWORD}, headers={"User-Agent": "pytest/1"}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["mfa_required"] is False and data["token_type"] == "Bearer"
    assert data["expires_in"] == 900 and data["refresh_expires_in"] == 30 * 86400
    session = await auth.scalar(select(Session).where(Session.user_id == person.user_id))
    assert str(session.id) == data["session_id"]
    assert session.device_info == {"user_agent": "pytest/1"}
    assert (await auth.scalar(select(User.last_login).where(User.id == person.user_id))) is not None


async def test_unknown_email_and_wrong_password_answer_identically(auth: Harness) -> None:
    person = await auth.register()
    wrong = await auth.client.post(LOGIN, json={"email": person.email, "password": "not the right password"})
    unknown = await auth.client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert _strip_meta(wrong.json()) == _strip_meta(unknown.json())
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


async def test_login_does_not_need_a_verified_email(auth: Harness) -> None:
    person = await auth.signed_in()
    assert not await auth.scalar(select(User.email_verified).where(User.id == person.user_id))
    assert person.access_token


async def test_login_rehashes_when_argon2_parameters_grew(auth: Harness) -> None:
    person = await auth.register()
    weaker = Hasher(Argon2Params(memory_cost=19456, time_cost=2, parallelism=1))
    stronger = Hasher(Argon2Params(memory_cost=19456, time_cost=3, parallelism=1))
    rt = auth.svc.app.state.runtime
    object.__setattr__(rt, "hasher", stronger)
    try:
        await auth.login(person)
    finally:
        object.__setattr__(rt, "hasher", weaker)
    stored = await auth.scalar(select(User.password_hash).where(User.id == person.user_id))
    assert stored.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    await auth.login(person)  # still the same password


async def test_five_failures_lock_the_account_whatever_the_password(auth: Harness) -> None:
    person = await auth.register()
    for _ in range(5):
        response = await auth.client.post(LOGIN, json={"email": person.email, "password": "wrong wrong wrong"})
        assert response.status_code == 401
    right = await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})
    wrong = await auth.client.post(LOGIN, json={"email": person.email, "password": "wrong wrong wrong"})
    for response in (right, wrong):
        assert response.status_code == 429, response.text
        assert 890 <= int(response.headers["retry-after"]) <= 900
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == "RATE_LIMITED" and body["meta"]["request_id"]
    assert _strip_meta(right.json()) == _strip_meta(wrong.json())
    # another account from the same client is not affected
    other = await auth.register()
    assert (await auth.client.post(LOGIN, json={"email": other.email, "password": PASSWORD})).status_code == 200


async def test_unknown_emails_lock_exactly_like_known_ones(auth: Harness) -> None:
    for _ in range(5):
        await auth.client.post(LOGIN, json={"email": "ghost@example.com", "password": "wrong wrong wrong"})
    response = await auth.client.post(LOGIN, json={"email": "ghost@example.com", "password": "wrong wrong wrong"})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0


async def test_a_successful_login_resets_the_failure_count(auth: Harness) -> None:
    person = await auth.register()
    for _ in range(4):
        await auth.client.post(LOGIN, json={"email": person.email, "password": "wrong wrong wrong"})
    await auth.login(person)
    for _ in range(4):
        await auth.client.post(LOGIN, json={"email": person.email, "password": "wrong wrong wrong"})
    await auth.login(person)


async def test_the_lock_lifts_after_the_lockout(make_service) -> None:
    auth = Harness(await make_service("auth", lockout_seconds=1))
    person = await auth.register()
    for _ in range(5):
        await auth.client.post(LOGIN, json={"email": person.email, "password": "wrong wrong wrong"})
    locked = await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "1"
    await asyncio.sleep(1.1)
    await auth.login(person)


async def test_per_ip_limit_counts_failures_across_accounts(auth: Harness) -> None:
    person = await auth.register()
    gateway = {"X-Forwarded-For": "203.0.113.50, 198.51.100.7"}  # the gateway appends the real peer last
    for i in range(20):
        response = await auth.client.post(
            LOGIN, json={"email": f"spray{i}@example.com", "password": "Winter2026!Winter"}, headers=gateway
        )
        assert response.status_code == 401
    blocked = await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD}, headers=gateway)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # the address a client claims for itself is not the one that counts
    forged = {"X-Forwarded-For": "198.51.100.7, 192.0.2.1"}
    assert (
        await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD}, headers=forged)
    ).status_code == 200
    ip = await auth.scalar(select(Session.ip_address).where(Session.user_id == person.user_id))
    assert str(ip) == "192.0.2.1"
