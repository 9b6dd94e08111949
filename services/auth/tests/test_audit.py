"""The audit log: each sensitive operation leaves one entry the owner can read (newest first, by
action), failures included; nothing secret in it; nobody else's entries; purged with the account."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from pfms_auth.models import AuditEvent, InboxEvent
from pfms_contracts.privacy import DataExportRequested
from pfms_platform.testing.helpers import publish_event, until

from .conftest import NEW_PASSWORD, PASSWORD, Harness, Person, totp_at

pytestmark = pytest.mark.integration

AUDIT = "/api/v1/auth/audit"
ACCOUNT = "/api/v1/auth/account"
BROWSER = {"User-Agent": "AuditTest/1.0"}


async def _log(auth: Harness, person: Person, query: str = "") -> list[dict[str, Any]]:
    response = await auth.client.get(AUDIT + query, headers=person.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_sensitive_operations_are_logged_newest_first(auth: Harness) -> None:
    person = await auth.register()
    wrong = await auth.client.post("/api/v1/auth/login", json={"email": person.email, "password": "not it at all"})
    assert wrong.status_code == 401
    await auth.login(person, **BROWSER)
    setup = (await auth.client.post("/api/v1/auth/mfa/setup", headers=person.headers)).json()["data"]
    enabled = await auth.client.post(
        "/api/v1/auth/mfa/enable", json={"code": totp_at(setup["secret"], -1)}, headers=person.headers
    )
    backup_codes = enabled.json()["data"]["backup_codes"]
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    refused = await auth.client.post(
        "/api/v1/auth/password/change", json={**change, "current_password": "a wrong one"}, headers=person.headers
    )
    assert refused.status_code == 403
    assert (await auth.client.post("/api/v1/auth/password/change", json=change, headers=person.headers)).is_success
    challenge = await auth.client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": NEW_PASSWORD}, headers=BROWSER
    )
    verified = await auth.client.post(
        "/api/v1/auth/mfa/verify", json={"challenge": challenge.json()["data"]["challenge"], "code": backup_codes[0]}
    )
    assert verified.status_code == 200, verified.text
    second = verified.json()["data"]["session_id"]
    revoked = await auth.client.delete(f"/api/v1/auth/sessions/{second}", headers=person.headers)
    assert revoked.status_code == 200

    entries = await _log(auth, person)
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("session_revoked", "success"),
        ("login", "success"),
        ("mfa_backup_code_used", "success"),
        ("password_changed", "success"),
        ("password_changed", "failure"),
        ("mfa_enabled", "success"),
        ("login", "success"),
        ("login", "failure"),
    ]
    revocation, mfa_login, backup, *_, first_login, failed = entries
    assert revocation["details"] == {"session_id": second, "reason": "revoked_by_user"}
    assert mfa_login["details"] == {"method": "mfa", "session_id": second}
    assert backup["details"] == {"remaining": 9}
    assert first_login["details"] == {"method": "password", "session_id": person.session_id}
    assert failed["details"] == {"reason": "invalid_password"}
    assert first_login["ip_address"] == "127.0.0.1" and first_login["user_agent"] == "AuditTest/1.0"
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)

    logins = await _log(auth, person, "?action=login&limit=2")
    assert [e["id"] for e in logins] == [mfa_login["id"], first_login["id"]]
    page = (await auth.client.get(AUDIT + "?action=login&limit=2&page=2", headers=person.headers)).json()
    assert [e["id"] for e in page["data"]] == [failed["id"]]
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 3, "pages": 2, "has_next": False}

    stored = repr(entries) + repr(await _rows(auth, person.user_id))
    for secret in (PASSWORD, NEW_PASSWORD, setup["secret"], *backup_codes, person.refresh_token):
        assert secret not in stored


async def _rows(auth: Harness, user_id: uuid.UUID) -> list[dict[str, Any]]:
    async with auth.svc.db.sessions() as db:
        rows = await db.scalars(select(AuditEvent).where(AuditEvent.user_id == user_id))
        return [{"details": r.details, "action": r.action} for r in rows]


async def test_logout_reuse_and_mfa_disable_are_logged(auth: Harness) -> None:
    person = await auth.signed_in()
    reused_token = person.refresh_token
    assert (await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": reused_token})).is_success
    reuse = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": reused_token})
    assert reuse.status_code == 401
    await auth.login(person)
    setup = (await auth.client.post("/api/v1/auth/mfa/setup", headers=person.headers)).json()["data"]
    first_code = {"code": totp_at(setup["secret"], -1)}
    await auth.client.post("/api/v1/auth/mfa/enable", json=first_code, headers=person.headers)
    off = {"password": PASSWORD, "code": totp_at(setup["secret"])}
    assert (await auth.client.post("/api/v1/auth/mfa/disable", json=off, headers=person.headers)).is_success
    assert (await auth.client.post("/api/v1/auth/logout-all", headers=person.headers)).is_success
    await auth.login(person)
    assert (await auth.client.post("/api/v1/auth/logout", headers=person.headers)).is_success
    await auth.login(person)

    entries = await _log(auth, person)
    assert [e["action"] for e in entries] == [
        "login",
        "logout",
        "login",
        "logout_all",
        "mfa_disabled",
        "mfa_enabled",
        "login",
        "session_revoked",
        "login",
    ]
    assert entries[-2]["details"]["reason"] == "refresh_reuse"


async def test_owner_only_bad_filter_and_purge_with_the_account(auth: Harness) -> None:
    person = await auth.signed_in()
    stranger = await auth.signed_in()
    await auth.client.post("/api/v1/auth/login", json={"email": stranger.email, "password": "wrong wrong wrong"})
    mine = await _log(auth, person)
    assert [e["action"] for e in mine] == ["login"]
    assert mine[0]["details"]["session_id"] == person.session_id
    bad = await auth.client.get(AUDIT + "?action=everything", headers=person.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "action"
    too_many = await auth.client.get(AUDIT + "?limit=101", headers=person.headers)
    assert too_many.status_code == 422 and too_many.json()["error"]["details"][0]["field"] == "limit"
    assert (await auth.client.get(AUDIT)).status_code == 401

    refused = await auth.client.request("DELETE", ACCOUNT, json={"password": "no"}, headers=person.headers)
    assert refused.status_code == 403
    assert [e["action"] for e in await _log(auth, person, "?action=account_deletion_requested")] == [
        "account_deletion_requested"
    ]
    gone = await auth.client.request("DELETE", ACCOUNT, json={"password": PASSWORD}, headers=person.headers)
    assert gone.status_code == 200
    assert await auth.count(AuditEvent, AuditEvent.user_id == person.user_id) == 0
    await _log(auth, stranger)  # a request that counts toward the stranger's limit
    await auth.svc.app.state.rate_limiter.flush()
    redis = auth.svc.app.state.redis
    assert [key async for key in redis.scan_iter(match=f"*{person.user_id}*")] == []  # rate-limit counters
    assert [key async for key in redis.scan_iter(match=f"*{stranger.user_id}*")] != []
    assert await auth.count(AuditEvent, AuditEvent.user_id == stranger.user_id) == 2


async def test_export_requests_of_the_report_service_are_logged(auth: Harness) -> None:
    person = await auth.signed_in()
    report_id = uuid.uuid4()
    event = await publish_event(
        auth.svc.settings.amqp_url, DataExportRequested(user_id=person.user_id, report_id=report_id), source="report"
    )

    async def logged() -> bool:
        return await auth.count(AuditEvent, AuditEvent.action == "data_export_requested") == 1

    await until(logged)
    [entry] = await _log(auth, person, "?action=data_export_requested")
    assert entry["details"] == {"report_id": str(report_id)} and entry["ip_address"] is None

    # redelivered: nothing twice; about an account that is gone: nothing at all
    amqp = auth.svc.settings.amqp_url
    again = DataExportRequested(user_id=person.user_id, report_id=report_id)
    await publish_event(amqp, again, source="report", event=event)
    ghost = uuid.uuid4()
    await publish_event(amqp, DataExportRequested(user_id=ghost, report_id=report_id), source="report")
    await publish_event(amqp, DataExportRequested(user_id=person.user_id, report_id=uuid.uuid4()), source="report")

    async def all_handled() -> bool:  # three distinct event ids went through the inbox
        return await auth.count(InboxEvent) == 3

    await until(all_handled)
    assert await auth.count(AuditEvent, AuditEvent.user_id == ghost) == 0
    assert await auth.count(AuditEvent, AuditEvent.action == "data_export_requested") == 2
