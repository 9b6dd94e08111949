"""Kong's jwt plugin (kong/plugins/jwt/handler.lua + jwt_parser.lua, 3.x), same checks, order and messages.

Order: find the token (uri params, cookies, then `Bearer` in header_names) -> decode -> key claim
from claims or header (`kid` here) -> credential by key -> token `alg` must equal the credential's
algorithm -> signature -> exp/nbf (claims_to_verify) -> maximum_expiration. Kong does not look at
iss/aud; the services do. Verified signatures are cached per token string (bounded LRU) so RSA
runs once per token; the time checks run on every request.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any, cast
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from pfms_gateway.config import Consumer, JwtSecret, PluginConf
from pfms_gateway.exchange import Defer, Exchange, Response, header_line, kong_exit, message

PRIORITY = 1450

_BEARER = re.compile(rb"\s*[Bb]earer\s+(.+)")
# jwt_parser.lua's alg_verify table: a token whose alg is not in it fails to decode ("invalid alg").
_KNOWN_ALGS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
)
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}

UNAUTHORIZED = message(401, "Unauthorized")
INTERNAL = message(500, "An unexpected error occurred")
_INF = float("inf")


def _b64(segment: bytes) -> bytes | None:
    """ngx.decode_base64 after Kong's url-safe fix-ups: None where nginx would return nil."""
    rem = len(segment) % 4
    if rem:
        segment += b"=" * (4 - rem)
    try:
        return binascii.a2b_base64(segment.replace(b"-", b"+").replace(b"_", b"/"), strict_mode=True)
    except binascii.Error:
        return None


class Credential:
    """A jwt_secret with its parsed key and the upstream headers Kong sets when it authenticates."""

    __slots__ = ("algorithm", "consumer", "headers", "public_key", "secret")

    def __init__(self, secret: JwtSecret, consumer: Consumer) -> None:
        self.secret = secret
        self.consumer = consumer
        self.algorithm = secret.algorithm
        key = load_pem_public_key(secret.rsa_public_key.encode())
        assert isinstance(key, RSAPublicKey)
        self.public_key = key
        headers: list[tuple[bytes, bytes | None]] = [
            (b"X-Consumer-ID", consumer.id.encode()),
            (b"X-Consumer-Custom-ID", consumer.custom_id.encode() if consumer.custom_id else None),
            (b"X-Consumer-Username", consumer.username.encode() if consumer.username else None),
            (b"X-Credential-Identifier", secret.key.encode()),
            (b"X-Anonymous-Consumer", None),
        ]
        # upstream header edits, keyed like Exchange.up_set
        self.headers: dict[bytes, bytes | None] = {
            name.lower(): None if value is None else header_line(name, value) for name, value in headers
        }

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, signing_input, padding.PKCS1v15(), _HASHES[self.algorithm]())
        except (InvalidSignature, ValueError):
            return False
        return True


class Verified:
    """A token whose signature checked out. The time checks are re-done on every use; `lo <= now < hi`
    is the window in which they all pass (nbf, exp, maximum_expiration folded together)."""

    __slots__ = ("claims", "credential", "generation", "hi", "lo")

    def __init__(self, claims: dict[str, Any], credential: Credential, generation: int) -> None:
        self.claims = claims
        self.credential = credential
        self.generation = generation
        self.lo = _INF
        self.hi = -_INF


class CredentialStore:
    """All consumers' jwt_secrets by key (Kong's jwt_secrets cache), plus the JWKS refetch hook."""

    def __init__(self, consumers: list[Consumer], cache_size: int = 10000, refresh_interval: float = 10.0) -> None:
        self._by_consumer: dict[str, list[Credential]] = {}
        self.by_key: dict[str, Credential] = {}
        self.generation = 0
        self.cache_size = cache_size
        self.caches: dict[str, OrderedDict[bytes, Verified]] = {}
        self.refresher: Callable[[], Awaitable[None]] | None = None
        self.refresh_interval = refresh_interval
        self._last_refresh = float("-inf")
        self._inflight: asyncio.Future[None] | None = None
        for consumer in consumers:
            self.set_secrets(consumer, consumer.jwt_secrets)

    def set_secrets(self, consumer: Consumer, secrets: list[JwtSecret]) -> bool:
        """Replace one consumer's secrets (the local `kong reload`); True if anything changed."""
        old = [
            (c.secret.key, c.secret.algorithm, c.secret.rsa_public_key) for c in self._by_consumer.get(consumer.id, [])
        ]
        new = [(s.key, s.algorithm, s.rsa_public_key) for s in secrets]
        if old == new and consumer.id in self._by_consumer:
            return False
        self._by_consumer[consumer.id] = [Credential(s, consumer) for s in secrets]
        self.by_key = {c.secret.key: c for creds in self._by_consumer.values() for c in creds}
        self.generation += 1
        for cache in self.caches.values():
            cache.clear()
        return True

    def cache_for(self, key: str) -> OrderedDict[bytes, Verified]:
        """One cache per distinct plugin configuration (the key claim and time checks shape a hit)."""
        return self.caches.setdefault(key, OrderedDict())

    def refresh_waiter(self) -> Awaitable[None] | None:
        """At most one JWKS refetch per interval, shared by every request that saw an unknown kid."""
        if self._inflight is not None and not self._inflight.done():
            return self._inflight
        if self.refresher is None or time.monotonic() - self._last_refresh < self.refresh_interval:
            return None
        self._last_refresh = time.monotonic()
        self._inflight = asyncio.ensure_future(self.refresher())
        return self._inflight

    def mark_refreshed(self) -> None:
        self._last_refresh = time.monotonic()


class JwtPlugin:
    name = "jwt"
    priority = PRIORITY

    def __init__(self, conf: PluginConf, store: CredentialStore) -> None:
        c = conf.config
        self.store = store
        self.uri_param_names: list[str] = c["uri_param_names"]
        self.cookie_names: list[str] = c["cookie_names"]
        self.header_names = [h.lower().encode() for h in c["header_names"]]
        self.key_claim: str = c["key_claim_name"]
        self.claims_to_verify: tuple[str, ...] = tuple(c["claims_to_verify"] or ())
        self.run_on_preflight: bool = c["run_on_preflight"]
        self.maximum_expiration: float = c["maximum_expiration"]
        self.cache = store.cache_for(f"{self.key_claim}|{','.join(self.claims_to_verify)}|{self.maximum_expiration}")
        self.header_only = not self.uri_param_names and not self.cookie_names and len(self.header_names) == 1
        self._no_key = message(401, f"No mandatory '{self.key_claim}' in claims")
        self._empty_key = message(401, f"Invalid '{self.key_claim}' in claims")
        self._unknown_key = message(401, f"No credentials found for given '{self.key_claim}'")

    # --- token retrieval (retrieve_token) ---

    def _token(self, ex: Exchange) -> bytes | Response | None:
        if self.uri_param_names and ex.query:
            args = parse_qs(ex.query.decode("latin-1"), keep_blank_values=True)
            for name in self.uri_param_names:
                if name in args:
                    values = args[name]
                    if len(values) > 1:
                        return message(401, "Multiple tokens provided")
                    return values[0].encode("latin-1")
        if self.cookie_names:
            raw = ex.headers.get(b"cookie")
            if raw:
                jar: SimpleCookie = SimpleCookie()
                jar.load(raw.decode("latin-1"))
                for name in self.cookie_names:
                    if name in jar and jar[name].value:
                        return jar[name].value.encode("latin-1")
        headers = ex.headers
        for name in self.header_names:
            value = headers.get(name)
            if value is not None:
                m = _BEARER.search(value)
                if m:
                    return m.group(1)
        return None

    # --- the plugin phase ---

    def access(self, ex: Exchange) -> Response | Defer | None:
        if ex.method == b"OPTIONS" and not self.run_on_preflight:
            return None
        if self.header_only:  # the usual configuration: Bearer in one header
            value = ex.headers.get(self.header_names[0])
            if value is None:
                return UNAUTHORIZED
            if value[:7] == b"Bearer " and value[7:8] > b" ":
                token = value[7:]  # what the regex below captures for this, the common shape
            else:
                match = _BEARER.search(value)
                if match is None:
                    return UNAUTHORIZED
                token = match.group(1)
        else:
            found = self._token(ex)
            if found is None:
                return UNAUTHORIZED
            if found.__class__ is Response:
                return cast(Response, found)
            token = cast(bytes, found)
        hit = self.cache.get(token)
        if hit is None or hit.generation != self.store.generation:
            result = self._verify(token, ex)
            if result.__class__ is not Verified:
                return cast("Response | Defer", result)
            hit = cast(Verified, result)
            self._window(hit)
            cache = self.cache
            cache[token] = hit
            if len(cache) > self.store.cache_size:
                cache.popitem(last=False)
        now = int(time.time())
        if not hit.lo <= now < hit.hi:
            return self._check_claims(hit.claims, now) or INTERNAL
        credential = hit.credential
        ex.up_set.update(credential.headers)
        ex.consumer = credential.consumer
        ex.credential = credential.secret
        return None

    def _window(self, hit: Verified) -> None:
        """When would _check_claims pass for these claims? (Never, if a claim has the wrong type.)"""
        lo, hi = -_INF, _INF
        claims = hit.claims
        for name in self.claims_to_verify:
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return
            if name == "exp":
                hi = min(hi, value)
            else:
                lo = max(lo, value)
        if self.maximum_expiration > 0:
            exp = claims.get("exp")
            if not isinstance(exp, int | float):
                return
            lo = max(lo, exp - self.maximum_expiration)
        hit.lo, hit.hi = lo, hi

    def _verify(self, token: bytes, ex: Exchange) -> Verified | Response | Defer:
        parts = token.split(b".", 2)
        if len(parts) < 3:
            return message(401, "Bad token; invalid JSON")
        header_64, claims_64, signature_64 = parts
        raw_header, raw_claims = _b64(header_64), _b64(claims_64)
        if raw_header is None or raw_claims is None:
            return message(401, "Bad token; invalid JSON")
        try:
            header = json.loads(raw_header)
            claims = json.loads(raw_claims)
        except ValueError:
            return message(401, "Bad token; invalid JSON")
        signature = _b64(signature_64)
        alg = header.get("alg") if isinstance(header, dict) else None
        if not isinstance(alg, str) or alg not in _KNOWN_ALGS:
            return message(401, "Bad token; invalid alg")
        if claims is False or claims is None or not isinstance(claims, dict):
            return message(401, "Bad token; invalid claims")
        if signature is None:
            return message(401, "Bad token; invalid signature")

        key = claims.get(self.key_claim)
        if key is None or key is False:
            key = header.get(self.key_claim)
        if key is None or key is False:
            return self._no_key
        if key == "":
            return self._empty_key
        credential = self.store.by_key.get(key if isinstance(key, str) else str(key))
        if credential is None:
            waiter = None if ex.retried else self.store.refresh_waiter()
            if waiter is not None:
                return Defer(waiter)
            return self._unknown_key
        if alg != credential.algorithm:
            return message(401, "Invalid algorithm")
        if not credential.verify(header_64 + b"." + claims_64, signature):
            return message(401, "Invalid signature")
        return Verified(claims, credential, self.store.generation)

    def _check_claims(self, claims: dict[str, Any], now: int) -> Response | None:
        errors: dict[str, str] = {}
        for name in self.claims_to_verify:
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[name] = "must be a number"
            elif name == "exp" and value <= now:
                errors[name] = "token expired"
            elif name == "nbf" and value > now:
                errors[name] = "token not valid yet"
        if errors:
            return kong_exit(401, errors)
        if self.maximum_expiration > 0:
            exp = claims.get("exp")
            if exp is None or exp - now > self.maximum_expiration:
                return kong_exit(401, {"exp": "exceeds maximum allowed expiration"})
        return None
