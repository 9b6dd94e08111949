"""Access tokens are accepted only when signed by auth's key with the right claims."""

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pfms_platform.errors import Unauthorized
from pfms_platform.security import JWKSCache, TokenVerifier, mint_service_token, verify_service_token
from pfms_platform.testing.keys import TestKeys


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture
def verifier(keys: TestKeys) -> TokenVerifier:
    cache = JWKSCache("http://127.0.0.1:9/unused")
    cache.load(keys.jwks())
    cache._fetched_at = time.monotonic()  # no network in unit tests: the keys are loaded
    return TokenVerifier(cache, issuer="pfms-auth", audience="pfms")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_valid_token_yields_claims(keys: TestKeys, verifier: TokenVerifier) -> None:
    uid = uuid.uuid4()
    claims = await verifier.verify(keys.token(uid))
    assert claims["sub"] == str(uid)


@pytest.mark.parametrize(
    "overrides",
    [
        {"ttl": -60},
        {"aud": "someone-else"},
        {"iss": "evil"},
        {"nbf": int(time.time()) + 3600},
        {"sub": "not-a-uuid"},
    ],
    ids=["expired", "wrong-aud", "wrong-iss", "not-yet-valid", "bad-sub"],
)
async def test_bad_claims_are_refused(keys: TestKeys, verifier: TokenVerifier, overrides: dict[str, object]) -> None:
    sub = overrides.pop("sub", uuid.uuid4())
    with pytest.raises(Unauthorized):
        await verifier.verify(keys.token(sub, **overrides))


async def test_alg_none_is_refused(keys: TestKeys, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = ".".join(
        [
            _b64({"alg": "none", "typ": "JWT", "kid": keys.kid}),
            _b64(
                {
                    "sub": str(uuid.uuid4()),
                    "iss": "pfms-auth",
                    "aud": "pfms",
                    "iat": now,
                    "nbf": now,
                    "exp": now + 60,
                    "jti": "x",
                }
            ),
            "",
        ]
    )
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_hs256_signed_with_the_public_key_is_refused(keys: TestKeys, verifier: TokenVerifier) -> None:
    now = int(time.time())
    payload = {
        "sub": str(uuid.uuid4()),
        "iss": "pfms-auth",
        "aud": "pfms",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "x",
    }
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": keys.kid})
    body = _b64(payload)
    import hashlib
    import hmac

    sig = hmac.new(keys.public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_forged_signature_and_unknown_kid_are_refused(keys: TestKeys, verifier: TokenVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    payload = {
        "sub": str(uuid.uuid4()),
        "iss": "pfms-auth",
        "aud": "pfms",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "x",
    }
    forged = jwt.encode(payload, other, algorithm="RS256", headers={"kid": keys.kid})
    with pytest.raises(Unauthorized):
        await verifier.verify(forged)
    unknown = jwt.encode(payload, other, algorithm="RS256", headers={"kid": "nope"})
    with pytest.raises(Unauthorized):
        await verifier.verify(unknown)
    assert other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)


def test_service_tokens_round_trip_and_refuse_user_tokens() -> None:
    token = mint_service_token("s" * 40, "expense")
    assert verify_service_token("s" * 40, token) == "expense"
    with pytest.raises(Unauthorized):
        verify_service_token("t" * 40, token)
    user_like = jwt.encode(
        {"sub": str(uuid.uuid4()), "aud": "pfms-internal", "iss": "pfms-service", "exp": int(time.time()) + 60},
        "s" * 40,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        verify_service_token("s" * 40, user_like)
