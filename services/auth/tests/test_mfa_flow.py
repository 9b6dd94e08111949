"""TOTP enrolment, sign-in with a second factor (TOTP or backup code), and turning it off."""

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from pfms_auth.models import MfaBackupCode, MfaSetting

from .conftest import PASSWORD, Harness, Person, totp_at

pytestmark = pytest.mark.integration

SETUP = "/api/v1/auth/mfa/setup"
ENABLE = "/api/v1/auth/mfa/enable"
DISABLE = "/api/v1/auth/mfa/disable"
VERIFY = "/api/v1/auth/mfa/verify"
LOGIN = "/api/v1/auth/login"
SESSIONS = "/api/v1/auth/sessions"


async def _enrol(auth: Harness, person: Person) -> tuple[str, list[str]]:
    setup = await auth.client.post(SETUP, headers=person.headers)
    assert setup.status_code == 200, setup.text
    data = setup.json()["data"]
    uri = urlparse(data["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [data["secret"]] and parse_qs(uri.query)["issuer"] == ["PFMS"]
    enable = await auth.client.post(ENABLE, json={"code": totp_at(data["secret"], -1)}, headers=person.headers)
    assert enable.status_code == 200, enable.text
    return data["secret"], enable.json()["data"]["backup_codes"]


async def _challenge(auth: Harness, person: Person) -> str:
    response = await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data == {"mfa_required": True, "challenge": data["challenge"], "expires_in": 300}
    return str(data["challenge"])


async def test_full_mfa_flow(auth: Harness) -> None:
    person = await auth.signed_in()
    secret, backup_codes = await _enrol(auth, person)
    assert len(backup_codes) == 10 == len(set(backup_codes))
    setting = await auth.scalar(select(MfaSetting).where(MfaSetting.user_id == person.user_id))
    assert setting.is_enabled and setting.secret_encrypted == secret  # encrypted at rest: test_encryption.py
    stored = await auth.scalar(select(MfaBackupCode.code_hash).where(MfaBackupCode.user_id == person.user_id))
    assert stored not in backup_codes

    # password alone no longer signs in: it yields a challenge, not tokens
    challenge = await _challenge(auth, person)
    response = await auth.client.post(VERIFY, json={"challenge": challenge, "code": totp_at(secret)})
    assert response.status_code == 200, response.text
    signed_in = Person(person.email, person.password, person.user_id)
    auth.take_tokens(signed_in, response.json()["data"])
    assert (await auth.client.get(SESSIONS, headers=signed_in.headers)).status_code == 200

    # the challenge is single use
    again = await auth.client.post(VERIFY, json={"challenge": challenge, "code": totp_at(secret, 1)})
    assert again.status_code == 401

    # a backup code works once, typed however
    code = backup_codes[0]
    first = await auth.client.post(
        VERIFY, json={"challenge": await _challenge(auth, person), "code": code.lower().replace("-", "")}
    )
    assert first.status_code == 200, first.text
    reused = await auth.client.post(VERIFY, json={"challenge": await _challenge(auth, person), "code": code})
    assert reused.status_code == 401
    assert await auth.count(MfaBackupCode, MfaBackupCode.used_at.is_not(None)) == 1

    # disabling takes the password and a code
    no_code = await auth.client.post(DISABLE, json={"password": PASSWORD}, headers=signed_in.headers)
    assert no_code.status_code == 403
    wrong_password = await auth.client.post(
        DISABLE, json={"password": "not my password at all", "code": totp_at(secret, 1)}, headers=signed_in.headers
    )
    assert wrong_password.status_code == 403
    off = await auth.client.post(
        DISABLE, json={"password": PASSWORD, "code": totp_at(secret, 1)}, headers=signed_in.headers
    )
    assert off.status_code == 200, off.text
    assert await auth.count(MfaSetting) == 0 and await auth.count(MfaBackupCode) == 0
    await auth.login(person)  # tokens straight from the password again


async def test_a_totp_code_is_accepted_once(auth: Harness) -> None:
    person = await auth.signed_in()
    secret, _ = await _enrol(auth, person)
    code = totp_at(secret)
    assert (await auth.client.post(VERIFY, json={"challenge": await _challenge(auth, person), "code": code})).is_success
    replay = await auth.client.post(VERIFY, json={"challenge": await _challenge(auth, person), "code": code})
    assert replay.status_code == 401


async def test_wrong_codes_burn_the_challenge_and_count_toward_the_lockout(auth: Harness) -> None:
    person = await auth.signed_in()
    secret, _ = await _enrol(auth, person)
    for _ in range(5):
        challenge = await _challenge(auth, person)
        wrong = await auth.client.post(VERIFY, json={"challenge": challenge, "code": "000000"})
        assert wrong.status_code == 401
        burned = await auth.client.post(VERIFY, json={"challenge": challenge, "code": totp_at(secret)})
        assert burned.status_code == 401
    locked = await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


async def test_enrolment_rules(auth: Harness) -> None:
    person = await auth.signed_in()
    assert (await auth.client.post(ENABLE, json={"code": "123456"}, headers=person.headers)).status_code == 409
    assert (
        await auth.client.post(DISABLE, json={"password": PASSWORD, "code": "123456"}, headers=person.headers)
    ).status_code == 409
    setup = (await auth.client.post(SETUP, headers=person.headers)).json()["data"]
    bad = await auth.client.post(ENABLE, json={"code": "000000"}, headers=person.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "code"
    # a pending setup protects nothing yet
    tokens = await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})
    assert tokens.json()["data"]["mfa_required"] is False
    ok = await auth.client.post(ENABLE, json={"code": totp_at(setup["secret"])}, headers=person.headers)
    assert ok.status_code == 200
    assert (await auth.client.post(SETUP, headers=person.headers)).status_code == 409
    assert (await auth.client.post(SETUP)).status_code == 401


async def test_an_unknown_challenge_is_refused(auth: Harness) -> None:
    response = await auth.client.post(VERIFY, json={"challenge": "made-up", "code": "123456"})
    assert response.status_code == 401 and response.json()["success"] is False
