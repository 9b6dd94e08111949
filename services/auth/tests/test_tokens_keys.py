"""Access-token claims, opaque tokens and signing-key material: pure, no I/O."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.fernet import Fernet, InvalidToken

from pfms_auth import keys, tokens

SPEC = tokens.AccessTokenSpec(issuer="pfms-auth", audience="pfms", ttl_seconds=900)


@pytest.fixture(scope="module")
def key() -> keys.SigningKey:
    return keys.generate(2048)


def test_access_token_carries_the_claims_every_service_checks(key: keys.SigningKey) -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    token = tokens.sign(tokens.access_claims(SPEC, user, session, now), key.private_key, key.kid)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    claims = jwt.decode(token, key.private_key.public_key(), algorithms=["RS256"], audience="pfms", issuer="pfms-auth")
    assert set(claims) == {"sub", "sid", "roles", "iss", "aud", "exp", "iat", "nbf", "jti"}
    assert claims["roles"] == []
    assert claims["sub"] == str(user) and claims["sid"] == str(session)
    assert claims["nbf"] == claims["iat"] == int(now.timestamp())
    assert claims["exp"] - claims["iat"] == 900


def test_access_tokens_expire_after_their_lifetime(key: keys.SigningKey) -> None:
    issued = datetime.now(UTC) - timedelta(seconds=901)
    token = tokens.sign(tokens.access_claims(SPEC, uuid.uuid4(), uuid.uuid4(), issued), key.private_key, key.kid)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, key.private_key.public_key(), algorithms=["RS256"], audience="pfms")


def test_every_token_has_its_own_jti(key: keys.SigningKey) -> None:
    now = datetime.now(UTC)
    a, b = (tokens.access_claims(SPEC, uuid.uuid4(), uuid.uuid4(), now) for _ in range(2))
    assert a["jti"] != b["jti"]


def test_opaque_tokens_are_random_and_stored_as_digests() -> None:
    minted = {tokens.new_opaque_token() for _ in range(100)}
    assert len(minted) == 100
    assert all(len(t) >= 43 for t in minted)  # 32 random bytes, base64url
    token = minted.pop()
    assert tokens.digest(token) == tokens.digest(token)
    assert len(tokens.digest(token)) == 64 and token not in tokens.digest(token)


def test_kid_is_the_rfc7638_thumbprint_and_jwk_is_public_only(key: keys.SigningKey) -> None:
    jwk = key.jwk
    assert jwk["kid"] == keys.thumbprint(jwk) == key.kid
    assert {"kty", "n", "e", "kid", "alg", "use"} == set(jwk)  # no "d", "p", "q": nothing private
    assert keys.generate(2048).kid != key.kid


def test_private_keys_are_sealed_at_rest(key: keys.SigningKey) -> None:
    box = keys.sealer(Fernet.generate_key().decode())
    sealed = keys.seal(key, box)
    assert b"PRIVATE KEY" not in sealed
    assert keys.unseal(key.kid, sealed, box).private_key.private_numbers() == key.private_key.private_numbers()
    with pytest.raises(InvalidToken):
        keys.unseal(key.kid, sealed, keys.sealer(Fernet.generate_key().decode()))


def test_a_new_key_encryption_key_is_prepended_and_old_seals_still_open(key: keys.SigningKey) -> None:
    old = Fernet.generate_key().decode()
    sealed = keys.seal(key, keys.sealer(old))
    rotated = keys.sealer(f"{Fernet.generate_key().decode()},{old}")
    assert keys.unseal(key.kid, sealed, rotated).kid == key.kid
