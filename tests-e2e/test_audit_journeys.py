"""Issue 9, audit log, through the gateway: a person signs in, turns MFA on, changes the password and
asks for their data export (in the report service, recorded by auth from `report.export_requested`);
all four are in their audit log, newest first, with the client's user agent; another person's log
never shows them."""

from typing import Any

import httpx
import pyotp
import pytest
from journeys import PASSWORD, Person, sign_up

from pfms_local.fleet import wait_for

pytestmark = pytest.mark.e2e

AUDIT = "/api/v1/auth/audit"


async def audit_log(gateway: httpx.AsyncClient, person: Person, **params: Any) -> list[dict[str, Any]]:
    response = await gateway.get(AUDIT, params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


async def test_sensitive_operations_show_in_the_owners_audit_log(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway, wait_profile=False)
    stranger = await sign_up(gateway, wait_profile=False)

    setup = await gateway.post("/api/v1/auth/mfa/setup", headers=person.headers)
    assert setup.status_code == 200, setup.text
    totp = pyotp.TOTP(setup.json()["data"]["secret"])
    enabled = await gateway.post("/api/v1/auth/mfa/enable", json={"code": totp.now()}, headers=person.headers)
    assert enabled.status_code == 200, enabled.text
    change = {"current_password": PASSWORD, "new_password": "an even longer passphrase 2027"}
    changed = await gateway.post("/api/v1/auth/password/change", json=change, headers=person.headers)
    assert changed.status_code == 200, changed.text
    export = await gateway.post("/api/v1/reports/export", headers=person.headers)
    assert export.status_code == 202, export.text
    report_id = export.json()["data"]["id"]

    async def exported() -> list[dict[str, Any]] | None:
        entries = await audit_log(gateway, person)
        return entries if entries and entries[0]["action"] == "data_export_requested" else None

    entries = await wait_for(exported, timeout=30, message="report.export_requested in the audit log")
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("data_export_requested", "success"),
        ("password_changed", "success"),
        ("mfa_enabled", "success"),
        ("login", "success"),
    ]
    assert entries[0]["details"] == {"report_id": report_id}
    assert entries[3]["details"]["method"] == "password"
    assert all(e["user_agent"] and e["user_agent"].startswith("python-httpx") for e in entries[1:])
    assert [e["id"] for e in await audit_log(gateway, person, action="login")] == [entries[3]["id"]]

    theirs = await audit_log(gateway, stranger)
    assert [e["action"] for e in theirs] == ["login"]
    assert not {e["id"] for e in entries} & {e["id"] for e in theirs}
    assert (await gateway.get(AUDIT)).status_code == 401
