"""Signing-key material: RSA generation, `kid` thumbprints, JWKs, and encryption at rest.

No I/O here; `keystore.py` keeps the keys in the database so that every replica signs alike.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def sealer(key_encryption_key: str) -> MultiFernet:
    """Encrypts with the first key, decrypts with any: a new key-encryption key is prepended, not swapped."""
    return MultiFernet([Fernet(k.strip().encode()) for k in key_encryption_key.split(",") if k.strip()])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public_key))
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: the `kid` is derived from the key, so it can never name two keys."""
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        """The public half as published in JWKS."""
        return {**public_jwk(self.private_key.public_key()), "kid": self.kid, "alg": "RS256", "use": "sig"}


def generate(key_size: int = 2048) -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    return SigningKey(thumbprint(public_jwk(private_key.public_key())), private_key)


def seal(key: SigningKey, box: MultiFernet) -> bytes:
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return box.encrypt(pem)


def unseal(kid: str, sealed: bytes, box: MultiFernet) -> SigningKey:
    private_key = serialization.load_pem_private_key(box.decrypt(sealed), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return SigningKey(kid, private_key)
