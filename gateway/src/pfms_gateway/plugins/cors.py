"""Kong's cors plugin (kong/plugins/cors/handler.lua, 3.x).

Preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered 200 by the gateway
unless preflight_continue; every other response gets the origin/credentials/expose headers in
header_filter, including responses Kong itself produced (401, 429, ...).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pfms_gateway.config import PluginConf
from pfms_gateway.exchange import Exchange, Response, header_line, kong_exit

PRIORITY = 2000

_PLAIN = re.compile(r"^[A-Za-z0-9.:/-]+$")
_MAYBE_REGEX = re.compile(r"[^A-Za-z0-9.:/-]")


def normalize_origin(domain: str) -> tuple[str, str]:
    """(scheme://host[:port], host), default ports dropped, as the plugin's normalize_origin does."""
    parts = urlsplit(domain)
    if not parts.netloc:
        return domain, domain
    netloc = parts.netloc.rsplit("@", 1)[-1]
    host, port = netloc, ""
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    elif ":" in netloc:
        host, port = netloc.rsplit(":", 1)
    if (parts.scheme == "http" and port == "80") or (parts.scheme == "https" and port == "443"):
        port = ""
    scheme = parts.scheme + "://" if parts.scheme else ""
    return scheme + host + (":" + port if port else ""), host


class _Origin:
    __slots__ = ("by_host", "domain", "regex")

    def __init__(self, entry: str) -> None:
        self.by_host = ":" not in entry
        self.regex: re.Pattern[str] | None = None
        self.domain = ""
        if _MAYBE_REGEX.search(entry):
            if not entry.endswith("$"):
                entry += "$"
            if entry.startswith("^"):
                entry = entry[1:]
            self.regex = re.compile(entry)
        else:
            self.domain = normalize_origin(entry)[0]


class CorsPlugin:
    name = "cors"
    priority = PRIORITY

    def __init__(self, conf: PluginConf) -> None:
        c = conf.config
        self.origins: list[str] = c["origins"] or []
        self.credentials: bool = c["credentials"]
        self.preflight_continue: bool = c["preflight_continue"]
        self.allow_origin_absent: bool = c["allow_origin_absent"]
        self.allow_headers = ",".join(c["headers"]).encode() if c["headers"] else None
        self.methods = ",".join(c["methods"]).encode()
        max_age = c["max_age"]
        self.max_age = None if max_age is None else str(int(max_age) if max_age == int(max_age) else max_age).encode()
        self.exposed = ",".join(c["exposed_headers"]).encode() if c["exposed_headers"] else None
        self.single_plain: bytes | None = None
        if len(self.origins) == 1 and self.origins[0] != "*" and _PLAIN.match(self.origins[0]):
            self.single_plain = self.origins[0].encode()
        self.allow_any = not self.origins or self.origins == ["*"]
        self.matchers = [_Origin(o) for o in self.origins]
        self._seen: dict[bytes, tuple[str, str]] = {}
        self._no_origin: dict[bytes, bytes | None] | None = None
        if not self.allow_any and self.single_plain is None and len(self.origins) > 1:
            # What _configure_origin + _configure_credentials + expose produce without an Origin header.
            self._no_origin = {b"access-control-allow-origin": None}
            if self.credentials:
                self._no_origin[b"access-control-allow-credentials"] = b"Access-Control-Allow-Credentials: true\r\n"
            if self.exposed is not None:
                self._no_origin[b"access-control-expose-headers"] = header_line(
                    b"Access-Control-Expose-Headers", self.exposed
                )

    def _configure_origin(self, ex: Exchange) -> bool:
        """Sets Access-Control-Allow-Origin; True when it is '*'."""
        if self.allow_any:
            ex.set_response_header(b"Access-Control-Allow-Origin", b"*")
            return True
        if self.single_plain is not None:
            ex.set_response_header(b"Vary", b"Origin")
            ex.set_response_header(b"Access-Control-Allow-Origin", self.single_plain)
            return False
        if len(self.origins) == 1:
            ex.set_response_header(b"Vary", b"Origin")
        req_origin = ex.headers.get(b"origin")
        if req_origin is not None:
            normalized = self._seen.get(req_origin)
            if normalized is None:
                normalized = normalize_origin(req_origin.decode("latin-1"))
                if len(self._seen) > 10000:
                    self._seen.clear()
                self._seen[req_origin] = normalized
            domain, host = normalized
            for m in self.matchers:
                if m.regex is not None:
                    found = m.regex.match(host if m.by_host else domain) is not None
                else:
                    found = domain == m.domain
                if found:
                    ex.set_response_header(b"Access-Control-Allow-Origin", domain.encode("latin-1"))
                    ex.set_response_header(b"Vary", b"Origin")
                    return False
        ex.set_response_header(b"Access-Control-Allow-Origin", None)
        return False

    def _configure_credentials(self, ex: Exchange, allow_all: bool) -> None:
        if not self.credentials:
            return
        if not allow_all:
            ex.set_response_header(b"Access-Control-Allow-Credentials", b"true")
            return
        req_origin = ex.headers.get(b"origin")
        if req_origin:
            ex.set_response_header(b"Access-Control-Allow-Origin", req_origin)
            ex.set_response_header(b"Access-Control-Allow-Credentials", b"true")
            ex.set_response_header(b"Vary", b"Origin")

    def access(self, ex: Exchange) -> Response | None:
        if ex.method != b"OPTIONS":
            return None
        headers = ex.headers
        if b"origin" not in headers or b"access-control-request-method" not in headers:
            return None
        ex.skip_cors_headers = True
        if self.preflight_continue:
            return None
        allow_all = self._configure_origin(ex)
        self._configure_credentials(ex, allow_all)
        if self.allow_headers is not None:
            ex.set_response_header(b"Access-Control-Allow-Headers", self.allow_headers)
        else:
            acrh = headers.get(b"access-control-request-headers")
            ex.set_response_header(b"Access-Control-Allow-Headers", acrh)
        ex.set_response_header(b"Access-Control-Allow-Methods", self.methods)
        if self.max_age is not None:
            ex.set_response_header(b"Access-Control-Max-Age", self.max_age)
        return kong_exit(200)

    def header_filter(self, ex: Exchange, response: Response) -> None:
        if ex.skip_cors_headers:
            return
        if b"origin" not in ex.headers:
            if not self.allow_origin_absent:
                return
            if self._no_origin is not None:  # the usual API client: the same headers every time
                ex.resp_set.update(self._no_origin)
                return
        allow_all = self._configure_origin(ex)
        self._configure_credentials(ex, allow_all)
        if self.exposed is not None:
            ex.set_response_header(b"Access-Control-Expose-Headers", self.exposed)
