"""Identity providers the OAuth tests sign in at: a real OpenID Connect provider (`oidc-provider-mock`,
authlib's server on a thread) and the browser's part of the dance, done over HTTP.

Two behaviours of real providers are added to the mock with response hooks (the mock has neither):
`response_mode=form_post` (the code comes back as an auto-submitting HTML form, as Apple does), and,
for the client `pfms-thin`, ID tokens that carry no `email`/`email_verified` (re-signed with the
provider's key), so the relying party has to ask the userinfo endpoint, as with some OIDC providers.
"""

import html
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import RSAKey

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


THIN_CLIENT = "pfms-thin"
THINNED: list[str] = []
"""The subjects whose ID token went out without the email claims (proof the userinfo path ran)."""


def _form_post(location: str) -> flask.Response:
    """The authorization response as OAuth 2.0 Form Post Response Mode sends it: a page that POSTs it."""
    target = urlparse(location)
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v[0])}">'
        for k, v in parse_qs(target.query).items()
    )
    action = html.escape(target._replace(query="").geturl())
    page = f'<html><body onload="document.forms[0].submit()"><form method="post" action="{action}">{fields}</form>'
    return flask.Response(page + "</body></html>", content_type="text/html; charset=utf-8")


def _thin(response: flask.Response) -> flask.Response:
    body = response.get_json()
    key = RSAKey.import_key(flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True))
    token = jwt.decode(body["id_token"], key)
    claims = {k: v for k, v in token.claims.items() if k not in ("email", "email_verified")}
    body["id_token"] = jwt.encode(token.header, claims, key)
    THINNED.append(str(claims["sub"]))
    response.set_data(flask.json.dumps(body))
    return response


def _as_real_providers_do(response: flask.Response) -> flask.Response:
    request = flask.request
    posted = request.args.get("response_mode") == "form_post"
    if request.path == "/oauth2/authorize" and response.status_code == 302 and posted:
        return _form_post(response.headers["Location"])
    client = request.authorization.username if request.authorization else request.form.get("client_id")
    if request.path == "/oauth2/token" and response.status_code == 200 and client == THIN_CLIENT:
        return _thin(response)
    return response


@contextmanager
def oidc_provider() -> Iterator[str]:
    """The provider's base URL; ID tokens are only issued for requests that carry a nonce."""
    app = oidc_provider_mock.app(require_nonce=True)
    app.after_request(_as_real_providers_do)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def oidc_settings(issuer: str) -> dict[str, Any]:
    """Google (an OIDC provider by discovery), a generic OIDC provider, one that posts the code back
    (`form_post`, like Apple) and one whose ID tokens lack the email (userinfo has it), all at `issuer`."""
    discovery = f"{issuer}/.well-known/openid-configuration"

    def client(client_id: str, **extra: str) -> dict[str, str]:
        return {"kind": "oidc", "client_id": client_id, "client_secret": "s4", "discovery_url": discovery} | extra

    return {
        "oauth_providers": {
            "google": {"kind": "google", "client_id": "pfms-web", "client_secret": "s3", "discovery_url": discovery},
            "corp": client("pfms-corp"),
            "posted": client("pfms-posted", response_mode="form_post"),
            "thin": client(THIN_CLIENT),
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


async def consent_posted(attempt: Attempt, sub: str) -> tuple[str, dict[str, str]]:
    """The same with a form_post provider: the page it answers, read as a browser would submit it
    (the form's action and its fields)."""
    async with httpx.AsyncClient() as http:
        response = await http.post(attempt.url, data={"sub": sub})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), response.text
    action = re.search(r'<form method="post" action="([^"]+)">', response.text)
    assert action is not None, response.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.text))
    assert fields["state"] == attempt.state
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in fields.items()}


def form(fields: dict[str, str]) -> dict[str, Any]:
    """An application/x-www-form-urlencoded request body, as the browser submits the provider's page."""
    return {"content": urlencode(fields), "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


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
