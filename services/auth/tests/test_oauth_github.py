"""Signing in with GitHub (plain OAuth2 + its REST API) against a local server answering like GitHub."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pfms_auth.models import OAuthProvider, User

from .conftest import Harness
from .github_replay import GitHub, github_server, github_settings
from .identity_providers import Attempt, begin, finish

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def github() -> Iterator[GitHub]:
    with github_server() as server:
        yield server


@pytest.fixture
async def auth(make_service: Any, github: GitHub) -> Harness:
    return Harness(await make_service("auth", oauth_providers={"github": github_settings(github)}))


async def _consent(attempt: Attempt) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.get(attempt.url)
    assert response.status_code == 302, response.text
    return httpx.URL(response.headers["location"]).params["code"]


async def test_github_sign_in_uses_the_primary_verified_email(auth: Harness, github: GitHub) -> None:
    email = f"octo-{uuid.uuid4().hex[:6]}@example.com"
    github.as_user(4242, ("old@example.com", False, True), (email.upper(), True, True))
    attempt = await begin(auth, "github")
    assert attempt.query["scope"] == "read:user user:email" and attempt.query["code_challenge_method"] == "S256"
    code = await _consent(attempt)
    response = await finish(auth, "github", attempt.state, code, attempt.binding)
    assert response.status_code == 200 and response.json()["data"]["access_token"], response.text
    user = await auth.scalar(select(User).where(User.email == email))
    link = await auth.scalar(select(OAuthProvider).where(OAuthProvider.user_id == user.id))
    assert (link.provider, link.provider_user_id, link.email) == ("github", "4242", email)
    assert link.access_token.startswith("gho_") and link.refresh_token is None

    # GitHub's codes work once: a replay (with a fresh state) is refused by GitHub, and so by us
    fresh = await begin(auth, "github")
    replayed = await finish(auth, "github", fresh.state, code, fresh.binding)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "OAUTH_FAILED"
    # the next sign-in finds the same account
    again = await begin(auth, "github")
    response = await finish(auth, "github", again.state, await _consent(again), again.binding)
    assert response.status_code == 200 and await auth.count(User) == 1


async def test_github_without_a_verified_primary_email_creates_nothing(auth: Harness, github: GitHub) -> None:
    github.as_user(777, ("unverified@example.com", True, False))
    attempt = await begin(auth, "github")
    response = await finish(auth, "github", attempt.state, await _consent(attempt), attempt.binding)
    assert response.status_code == 403 and response.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"
    assert await auth.count(User) == 0
