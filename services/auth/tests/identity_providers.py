"""Identity providers the OAuth tests sign in at: a real OpenID Connect provider (`oidc-provider-mock`,
authlib's server on a thread) and the browser's part of the dance, done over HTTP."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from oidc_provider_mock import run_server_in_thread

from .conftest import Harness

OAUTH = "/api/v1/auth/oauth"


@dataclass(frozen=True)
class Attempt:
    """A started sign-in: the provider URL, its state and the browser's binding cookie."""

    url: str
    state: str
    binding: str

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlparse(self.url).query).items()}


@contextmanager
def oidc_provider() -> Iterator[str]:
    """The provider's base URL; ID tokens are only issued for requests that carry a nonce."""
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def oidc_settings(issuer: str) -> dict[str, Any]:
    """Google (an OIDC provider by discovery) and a generic OIDC provider, both served by `issuer`."""
    discovery = f"{issuer}/.well-known/openid-configuration"
    return {
        "oauth_providers": {
            "google": {"kind": "google", "client_id": "pfms-web", "client_secret": "s3", "discovery_url": discovery},
            "corp": {"kind": "oidc", "client_id": "pfms-corp", "client_secret": "s4", "discovery_url": discovery},
        }
    }


async def set_user(issuer: str, sub: str, email: str, verified: bool = True) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.put(f"{issuer}/users/{sub}", json={"email": email, "email_verified": verified})
        assert response.status_code == 204, response.text


async def begin(auth: Harness, provider: str, headers: dict[str, str] | None = None) -> Attempt:
    """authorize (or link, with `headers`); the cookie is taken out of the jar so tests choose what to send."""
    if headers is None:
        response = await auth.client.get(f"{OAUTH}/{provider}/authorize")
    else:
        response = await auth.client.post(f"{OAUTH}/{provider}/link", headers=headers)
    assert response.status_code == 200, response.text
    binding = response.cookies["pfms_oauth"]
    auth.client.cookies.clear()
    url = response.json()["data"]["authorization_url"]
    return Attempt(url, parse_qs(urlparse(url).query)["state"][0], binding)


async def consent(attempt: Attempt, sub: str) -> str:
    """The person signs in at the provider as `sub`; returns the code it sends the browser back with."""
    async with httpx.AsyncClient() as http:
        response = await http.post(attempt.url, data={"sub": sub})
    assert response.status_code == 302, response.text
    back = parse_qs(urlparse(response.headers["location"]).query)
    assert back["state"] == [attempt.state]
    return back["code"][0]


async def finish(
    auth: Harness, provider: str, state: str, code: str, binding: str | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    sent = dict(headers or {})
    if binding is not None:
        sent["Cookie"] = f"pfms_oauth={binding}"
    return await auth.client.get(f"{OAUTH}/{provider}/callback", params={"state": state, "code": code}, headers=sent)


async def sign_in(auth: Harness, provider: str, sub: str) -> httpx.Response:
    attempt = await begin(auth, provider)
    return await finish(auth, provider, attempt.state, await consent(attempt, sub), attempt.binding)
