"""Password change, forgotten-password reset, and email verification (all tokens single use)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from pfms_auth.models import EmailVerificationToken, PasswordResetToken, User

from .conftest import NEW_PASSWORD, PASSWORD, Harness, Person

pytestmark = pytest.mark.integration

CHANGE = "/api/v1/auth/password/change"
FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"
SESSIONS = "/api/v1/auth/sessions"
LOGIN = "/api/v1/auth/login"


def _strip_meta(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "meta"}


async def test_change_password_keeps_this_session_and_revokes_the_others(auth: Harness) -> None:
    person = await auth.signed_in()
    other = await auth.login(Person(person.email, person.password, person.user_id))
    response = await auth.client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    assert (await auth.client.get(SESSIONS, headers=person.headers)).status_code == 200
    assert (await auth.client.get(SESSIONS, headers=other.headers)).status_code == 401
    assert (await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})).status_code == 401
    await auth.login(Person(person.email, NEW_PASSWORD, person.user_id))


async def test_change_password_needs_the_current_one_and_a_good_new_one(auth: Harness) -> None:
    person = await auth.signed_in()
    before = await auth.scalar(select(User.password_hash).where(User.id == person.user_id))
    wrong = await auth.client.post(
        CHANGE,
        json={"current_password": "not my password at all", "new_password": NEW_PASSWORD},
        headers=person.headers,
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"
    weak = await auth.client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": "passwordpassword"}, headers=person.headers
    )
    assert weak.status_code == 422 and weak.json()["error"]["details"][0]["field"] == "new_password"
    assert await auth.scalar(select(User.password_hash).where(User.id == person.user_id)) == before


async def test_wrong_current_passwords_count_toward_the_lockout(auth: Harness) -> None:
    person = await auth.signed_in()
    body = {"current_password": "not my password at all", "new_password": NEW_PASSWORD}
    for _ in range(5):
        assert (await auth.client.post(CHANGE, json=body, headers=person.headers)).status_code == 403
    body["current_password"] = PASSWORD
    locked = await auth.client.post(CHANGE, json=body, headers=person.headers)
    assert locked.status_code == 429 and "retry-after" in locked.headers


async def test_forgot_answers_the_same_for_known_and_unknown_emails(auth: Harness) -> None:
    person = await auth.register()
    known = await auth.client.post(FORGOT, json={"email": person.email})
    unknown = await auth.client.post(FORGOT, json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert _strip_meta(known.json()) == _strip_meta(unknown.json())
    [event] = await auth.events("auth.password_reset_requested")
    data = event["data"]
    assert data["user_id"] == str(person.user_id) and data["email"] == person.email
    expires = datetime.fromisoformat(data["expires_at"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    stored = await auth.scalar(select(PasswordResetToken.token_hash))
    assert stored != data["token"] and len(stored) == 64


async def test_reset_sets_the_password_once_and_signs_out_everywhere(auth: Harness) -> None:
    person = await auth.signed_in()
    await auth.client.post(FORGOT, json={"email": person.email})
    token = await auth.latest_token("auth.password_reset_requested", person.email)
    response = await auth.client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    assert (await auth.client.get(SESSIONS, headers=person.headers)).status_code == 401
    again = await auth.client.post(RESET, json={"token": token, "new_password": "yet another long passphrase"})
    assert again.status_code == 400 and again.json()["error"]["code"] == "INVALID_TOKEN"
    assert (await auth.client.post(LOGIN, json={"email": person.email, "password": PASSWORD})).status_code == 401
    await auth.login(Person(person.email, NEW_PASSWORD, person.user_id))
    assert await auth.scalar(select(User.email_verified).where(User.id == person.user_id))  # the link proved it
    [verified] = await auth.events("user.email_verified")
    assert verified["data"]["email"] == person.email


async def test_reset_tokens_expire_and_only_the_newest_works(auth: Harness) -> None:
    person = await auth.register()
    await auth.client.post(FORGOT, json={"email": person.email})
    older = await auth.latest_token("auth.password_reset_requested", person.email)
    await auth.client.post(FORGOT, json={"email": person.email})
    newer = await auth.latest_token("auth.password_reset_requested", person.email)
    stale = await auth.client.post(RESET, json={"token": older, "new_password": NEW_PASSWORD})
    assert stale.status_code == 400
    async with auth.svc.db.sessions() as db, db.begin():
        await db.execute(update(PasswordResetToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = await auth.client.post(RESET, json={"token": newer, "new_password": NEW_PASSWORD})
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "INVALID_TOKEN"
    await auth.login(person)  # the password did not change


async def test_a_weak_new_password_does_not_burn_the_reset_token(auth: Harness) -> None:
    person = await auth.register()
    await auth.client.post(FORGOT, json={"email": person.email})
    token = await auth.latest_token("auth.password_reset_requested", person.email)
    weak = await auth.client.post(RESET, json={"token": token, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["error"]["details"][0]["field"] == "new_password"
    assert (await auth.client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 200


async def test_reset_mails_are_capped_per_address_silently(auth: Harness) -> None:
    person = await auth.register()
    answers = [await auth.client.post(FORGOT, json={"email": person.email}) for _ in range(5)]
    assert {a.status_code for a in answers} == {202}
    assert len(await auth.events("auth.password_reset_requested")) == 3


async def test_verify_email_is_single_use(auth: Harness) -> None:
    person = await auth.register()
    token = await auth.latest_token("auth.email_verification_requested", person.email)
    response = await auth.client.post(VERIFY, json={"token": token})
    assert response.status_code == 200, response.text
    assert await auth.scalar(select(User.email_verified).where(User.id == person.user_id))
    [event] = await auth.events("user.email_verified")  # in the transaction that set the flag (outbox)
    assert event["subject"] == str(person.user_id)
    data = event["data"]
    assert (data["user_id"], data["email"]) == (str(person.user_id), person.email)
    assert abs(datetime.fromisoformat(data["verified_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    events_before = len(await auth.events())
    again = await auth.client.post(VERIFY, json={"token": token})
    assert again.status_code == 400 and again.json()["error"]["code"] == "INVALID_TOKEN"
    assert len(await auth.events()) == events_before  # a refused token publishes nothing


async def test_expired_or_unknown_verification_tokens_are_refused(auth: Harness) -> None:
    person = await auth.register()
    token = await auth.latest_token("auth.email_verification_requested", person.email)
    async with auth.svc.db.sessions() as db, db.begin():
        await db.execute(update(EmailVerificationToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    for candidate in (token, "made-up-token"):
        response = await auth.client.post(VERIFY, json={"token": candidate})
        assert response.status_code == 400
    assert not await auth.scalar(select(User.email_verified).where(User.id == person.user_id))


async def test_resend_verification_needs_a_session_and_an_unverified_address(auth: Harness) -> None:
    assert (await auth.client.post(RESEND)).status_code == 401
    person = await auth.signed_in()
    response = await auth.client.post(RESEND, headers=person.headers)
    assert response.status_code == 202
    assert len(await auth.events("auth.email_verification_requested")) == 2
    token = await auth.latest_token("auth.email_verification_requested", person.email)
    assert (await auth.client.post(VERIFY, json={"token": token})).status_code == 200
    done = await auth.client.post(RESEND, headers=person.headers)
    assert done.status_code == 409 and done.json()["error"]["code"] == "CONFLICT"
    await auth.client.post(FORGOT, json={"email": person.email})  # a reset link of a verified address
    reset = await auth.latest_token("auth.password_reset_requested", person.email)
    assert (await auth.client.post(RESET, json={"token": reset, "new_password": NEW_PASSWORD})).status_code == 200
    assert len(await auth.events("user.email_verified")) == 1, "announced once, when it became verified"
