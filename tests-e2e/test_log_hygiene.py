"""Issue 9, logs: a journey through the gateway with distinctive secrets and personal data (password,
TOTP secret, access/refresh/reset tokens, full email, phone number, an IBAN in a description), then
every fleet process's log (each service and the gateway, as written to `fleet*/<name>.log`) is
searched for them: none may appear, in any form the log line could carry them."""

import json
import random
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pyotp
import pytest
from journeys import BusTap, _b64decode, settle

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


def _distinctive() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    digits = "".join(random.choices("0123456789", k=18))
    return {
        "email": f"hygiene-{tag}@example.org",
        "password": f"Hygiene passphrase {tag}",
        "new_password": f"Second hygiene passphrase {tag}",
        "phone": "+4479111" + "".join(random.choices("0123456789", k=5)),
        "iban": f"DE{digits[:2]}{digits[2:]}",
    }


async def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200,)), response.text
    body: dict[str, Any] = response.json()
    return body.get("data") or {}


async def test_no_secret_or_full_personal_data_reaches_any_log(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    v = _distinctive()
    secrets: dict[str, str] = {k: v[k] for k in ("email", "password", "new_password", "phone", "iban")}
    credentials = {"email": v["email"], "password": v["password"]}
    await _ok(await gateway.post("/api/v1/auth/register", json=credentials), 202)
    await _ok(await gateway.post("/api/v1/auth/login", json={**credentials, "password": "wrong " + v["password"]}), 401)
    pair = await _ok(await gateway.post("/api/v1/auth/login", json=credentials))
    secrets |= {"access_token": pair["access_token"], "refresh_token": pair["refresh_token"]}
    user_id = json.loads(_b64decode(pair["access_token"].split(".")[1]))["sub"]
    rotated = await _ok(await gateway.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}))
    secrets["rotated_refresh_token"] = rotated["refresh_token"]
    headers = {"Authorization": f"Bearer {rotated['access_token']}"}

    async def profile() -> bool:
        return (await gateway.get("/api/v1/user/profile", headers=headers)).status_code == 200

    await wait_for(profile, timeout=20, message="profile created")
    await _ok(await gateway.put("/api/v1/user/profile", json={"phone": v["phone"]}, headers=headers))
    expense = {
        "amount": "25.00",
        "currency": "EUR",
        "expense_date": datetime.now(UTC).date().isoformat(),
        "description": f"transfer to {v['iban']} for {v['email']}",
    }
    await _ok(await gateway.post("/api/v1/expenses", json=expense, headers=headers), 201)

    setup = await _ok(await gateway.post("/api/v1/auth/mfa/setup", headers=headers))
    secrets["totp_secret"] = setup["secret"]
    totp = pyotp.TOTP(setup["secret"])
    backup = await _ok(await gateway.post("/api/v1/auth/mfa/enable", json={"code": totp.now()}, headers=headers))
    challenge = await _ok(await gateway.post("/api/v1/auth/login", json=credentials))
    code = backup["backup_codes"][0]
    secrets |= {"challenge": challenge["challenge"], "backup_code": code}
    verified = await _ok(
        await gateway.post("/api/v1/auth/mfa/verify", json={"challenge": challenge["challenge"], "code": code})
    )
    secrets["mfa_access_token"] = verified["access_token"]

    tap = await BusTap.open(fleet, "user.events", "auth.password_reset_requested")
    try:
        await _ok(await gateway.post("/api/v1/auth/password/forgot", json={"email": v["email"]}), 202)
        event = await tap.wait("auth.password_reset_requested", email=v["email"])
    finally:
        await tap.close()
    secrets["reset_token"] = event["data"]["token"]
    reset = {"token": event["data"]["token"], "new_password": v["new_password"]}
    await _ok(await gateway.post("/api/v1/auth/password/reset", json=reset))

    def text(message: EmailMessage) -> str:
        return "".join(str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text")

    def mailed() -> bool:  # the notification service consumed the reset request and sent its mail
        mine = [m for m in fleet.stack.smtp.messages() if v["email"] in str(m["To"])]
        return any(reset["token"] in text(m) for m in mine)

    await wait_for(mailed, timeout=30, message="password reset mail")
    await settle(2.0)  # consumers of the journey's other events (ai, automation, notification) log too

    files = fleet.files
    assert files is not None, "the e2e fleet writes one log file per process"
    logs = {name: files.path(name).read_text(errors="replace") for name in fleet.names if files.path(name).exists()}
    assert set(logs) == set(fleet.names)
    assert user_id in logs["auth"], "the auth log is being read (it names the user by id)"
    leaks = [
        f"{what} in {name}.log"
        for what, value in secrets.items()
        for name, text in logs.items()
        if value in text or value.lower() in text.lower()
    ]
    assert not leaks, leaks
