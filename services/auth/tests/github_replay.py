"""A small local server that answers like GitHub's OAuth and REST endpoints (authorize, access_token
with PKCE, /user, /user/emails), so the GitHub sign-in runs over real HTTP in the tests."""

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse


@dataclass
class GitHub:
    """What the fake GitHub knows: the person who consents next, codes issued and tokens handed out."""

    url: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)

    def as_user(self, user_id: int, *emails: tuple[str, bool, bool]) -> None:
        """Who signs in next; each email is (address, primary, verified)."""
        self.user = {"id": user_id, "login": f"octo{user_id}"}
        self.emails = [{"email": e, "primary": p, "verified": v, "visibility": None} for e, p, v in emails]


def _handler(github: GitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, body: Any, status: int = 200) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/login/oauth/authorize":
                code = secrets.token_hex(10)
                github.codes[code] = {**query, "user": github.user, "emails": github.emails}
                self.send_response(302)
                self.send_header(
                    "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                )
                self.end_headers()
                return
            token = self.headers.get("Authorization", "").split(" ")[-1]
            if token not in github.tokens:
                self._json({"message": "Bad credentials"}, 401)
            elif url.path == "/user":
                self._json(github.tokens[token][0])
            elif url.path == "/user/emails":
                self._json(github.tokens[token][1])
            else:
                self._json({"message": "Not Found"}, 404)

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/login/oauth/access_token":
                self._json({"message": "Not Found"}, 404)
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            issued = github.codes.pop(form.get("code", ""), None)  # a code works once
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (
                issued is None
                or form.get("client_id") != issued["client_id"]
                or form.get("client_secret") != "gh-secret"
                or form.get("redirect_uri") != issued["redirect_uri"]
                or issued.get("code_challenge_method") != "S256"
                or challenge != issued.get("code_challenge")
            ):
                self._json({"error": "bad_verification_code", "error_description": "The code is incorrect."})
                return
            token = "gho_" + secrets.token_hex(16)
            github.tokens[token] = (issued["user"], issued["emails"])
            self._json({"access_token": token, "token_type": "bearer", "scope": issued.get("scope", "")})

    return Handler


@contextmanager
def github_server() -> Iterator[GitHub]:
    github = GitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(github))
    github.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield github
    finally:
        server.shutdown()
        server.server_close()


def github_settings(github: GitHub) -> dict[str, Any]:
    return {
        "kind": "github",
        "client_id": "gh-client",
        "client_secret": "gh-secret",
        "authorize_url": f"{github.url}/login/oauth/authorize",
        "token_url": f"{github.url}/login/oauth/access_token",
        "api_base_url": f"{github.url}/",
    }
