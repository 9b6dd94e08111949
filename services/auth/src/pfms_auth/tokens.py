"""Access tokens (RS256 JWTs) and opaque secrets (refresh, reset, verification, challenge tokens).

Opaque tokens carry 256 bits of randomness, so a plain SHA-256 of them is what the database keeps:
with that much entropy there is nothing to brute-force, and lookups stay a unique-index hit.
"""

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ALGORITHM = "RS256"


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored and looked up instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessTokenSpec:
    issuer: str
    audience: str
    ttl_seconds: int


def access_claims(
    spec: AccessTokenSpec, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime, roles: Sequence[str] = ()
) -> dict[str, Any]:
    """Claims every service checks (`sub iss aud exp iat nbf jti`) plus `sid`, the session it belongs to,
    and `roles`, the account's roles when the token is issued (`admin` opens the admin routes)."""
    issued = int(now.timestamp())
    return {
        "sub": str(user_id),
        "sid": str(session_id),
        "roles": list(roles),
        "iss": spec.issuer,
        "aud": spec.audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + spec.ttl_seconds,
        "jti": uuid.uuid4().hex,
    }


def sign(claims: dict[str, Any], private_key: RSAPrivateKey, kid: str) -> str:
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"})
