"""Zero-trust token checks: RS256 access tokens against auth's JWKS, HS256 service tokens."""

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from jwt.algorithms import RSAAlgorithm

from pfms_platform.errors import Forbidden, Unauthorized
from pfms_platform.logging import get_logger
from pfms_platform.ratelimit import enforce_user_limit

log = get_logger(__name__)

SERVICE_AUDIENCE = "pfms-internal"
SERVICE_ISSUER = "pfms-service"
ADMIN = "admin"
"""The role auth's operator command grants; `AdminUser` routes require it."""
_LEEWAY_SECONDS = 5


class JWKSCache:
    """Public keys by `kid`, fetched from auth; an unknown `kid` triggers one refetch (rate-limited)."""

    def __init__(self, url: str, *, min_refresh_interval: float = 10.0, timeout: float = 3.0) -> None:
        self.url = url
        self.keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._min_interval = min_refresh_interval
        self._timeout = timeout
        self._lock = asyncio.Lock()

    def load(self, jwks: dict[str, Any]) -> None:
        keys = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
        self.keys = keys

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._fetched_at < self._min_interval:
                return
            self._fetched_at = time.monotonic()
            try:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(self.url)
                    response.raise_for_status()
                self.load(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks fetch failed", url=self.url, error=str(exc))

    async def get(self, kid: str) -> Any | None:
        if kid not in self.keys:
            await self.refresh()
        return self.keys.get(kid)


class TokenVerifier:
    """Checks signature, `exp`, `nbf`, `iss` and `aud`; remembers verified tokens until they expire."""

    def __init__(self, jwks: JWKSCache, *, issuer: str, audience: str, cache_size: int = 4096) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> dict[str, Any]:
        cached = self._verified.get(token)
        if cached is not None and cached["exp"] > time.time():
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Malformed token") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("Token algorithm not accepted")
        key = await self.jwks.get(str(header.get("kid", "")))
        if key is None:
            raise Unauthorized("Unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid token") from exc
        try:
            uuid.UUID(claims["sub"])
        except ValueError as exc:
            raise Unauthorized("Invalid subject") from exc
        self._verified[token] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return claims


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


async def current_claims(request: Request) -> dict[str, Any]:
    cached = getattr(request.state, "claims", None)
    if cached is not None:
        return dict(cached)
    verifier: TokenVerifier = request.app.state.verifier
    claims = await verifier.verify(bearer_token(request))
    if claims["sub"] in getattr(request.app.state, "deleted_users", ()):
        raise Unauthorized("Account deleted")  # its tokens outlive it; see pfms_platform.revocation
    request.state.claims = claims
    return claims


async def current_user(request: Request, claims: Annotated[dict[str, Any], Depends(current_claims)]) -> uuid.UUID:
    """The caller's user id, after the per-user rate limit has counted this request."""
    user = uuid.UUID(claims["sub"])
    await enforce_user_limit(request, user)
    return user


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
Claims = Annotated[dict[str, Any], Depends(current_claims)]


def roles_of(claims: dict[str, Any]) -> frozenset[str]:
    """The `roles` claim of a verified access token (absent: none); any other shape is refused."""
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("Invalid roles claim")
    return frozenset(roles)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's user and the roles auth put in it when it was issued."""

    user_id: uuid.UUID
    roles: frozenset[str]


async def current_principal(user: CurrentUser, claims: Claims) -> Principal:
    return Principal(user, roles_of(claims))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def admin_user(principal: CurrentPrincipal) -> uuid.UUID:
    """The caller's user id when their token carries the `admin` role; 403 otherwise."""
    if ADMIN not in principal.roles:
        raise Forbidden("This needs the admin role")
    return principal.user_id


AdminUser = Annotated[uuid.UUID, Depends(admin_user)]


def mint_service_token(secret: str, service: str, *, ttl_seconds: int = 60) -> str:
    """Short-lived HS256 token a service presents to another service's `/internal/...` routes."""
    now = int(time.time())
    return jwt.encode(
        {
            "sub": f"service:{service}",
            "iss": SERVICE_ISSUER,
            "aud": SERVICE_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
        },
        secret,
        algorithm="HS256",
    )


def verify_service_token(secret: str, token: str) -> str:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=SERVICE_AUDIENCE,
            issuer=SERVICE_ISSUER,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid service token") from exc
    sub = str(claims["sub"])
    if not sub.startswith("service:"):
        raise Unauthorized("Invalid service token")
    return sub.removeprefix("service:")


async def calling_service(request: Request) -> str:
    return verify_service_token(request.app.state.settings.service_token_secret, bearer_token(request))


CallingService = Annotated[str, Depends(calling_service)]
