"""Logs carry ids and outcomes, never passwords, tokens or codes."""

import pytest

from .conftest import NEW_PASSWORD, PASSWORD, Harness, totp_at

pytestmark = pytest.mark.integration


async def test_secrets_never_reach_the_log(auth: Harness, caplog: pytest.LogCaptureFixture) -> None:
    person = await auth.signed_in()
    await auth.client.post("/api/v1/auth/login", json={"email": person.email, "password": "a wrong password here"})
    refreshed = (await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})).json()
    await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})  # reuse: logged
    await auth.client.post("/api/v1/auth/password/forgot", json={"email": person.email})
    reset = await auth.latest_token("auth.password_reset_requested", person.email)
    await auth.client.post("/api/v1/auth/password/reset", json={"token": reset, "new_password": NEW_PASSWORD})
    person.password = NEW_PASSWORD
    await auth.login(person)
    setup = (await auth.client.post("/api/v1/auth/mfa/setup", headers=person.headers)).json()["data"]
    code = totp_at(setup["secret"])
    codes = (await auth.client.post("/api/v1/auth/mfa/enable", json={"code": code}, headers=person.headers)).json()

    logged = caplog.text + "\n".join(str(record.msg) for record in caplog.records)
    assert "user registered" in logged and "refresh token reuse" in logged  # the log is being captured
    secrets = [
        PASSWORD,
        NEW_PASSWORD,
        person.refresh_token,
        person.access_token,
        refreshed["data"]["refresh_token"],
        reset,
        setup["secret"],
        *codes["data"]["backup_codes"],
    ]
    for secret in secrets:
        assert secret not in logged
    assert person.email not in logged
