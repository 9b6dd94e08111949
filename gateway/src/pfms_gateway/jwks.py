"""auth's JWKS -> Kong jwt_secrets (one per `kid`, RS256 PEM), shared by the renderer and the local gateway."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pfms_gateway.config import JwtSecret

_RSA_ALGS = ("RS256", "RS384", "RS512")


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def jwk_to_pem(jwk: dict[str, Any]) -> str:
    """An RSA JWK's public key as the PEM Kong wants in rsa_public_key."""
    numbers = RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"]))
    return numbers.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def secrets_from_jwks(jwks: dict[str, Any]) -> list[JwtSecret]:
    """Signing RSA keys that have a kid; anything else (enc keys, EC keys, no kid) is skipped."""
    secrets: list[JwtSecret] = []
    seen: set[str] = set()
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
            continue
        if jwk.get("use", "sig") != "sig" or jwk["kid"] in seen:
            continue
        alg = jwk.get("alg", "RS256")
        if alg not in _RSA_ALGS:
            continue
        seen.add(jwk["kid"])
        secrets.append(JwtSecret(key=jwk["kid"], algorithm=alg, rsa_public_key=jwk_to_pem(jwk)))
    return secrets


def fetch_jwks(source: str, timeout: float = 3.0) -> dict[str, Any]:
    """Read a JWKS from an http(s) URL or a file path."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            data = json.loads(response.read())
    else:
        data = json.loads(Path(source).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{source}: not a JWKS (no 'keys' list)")
    return data


def secret_to_yaml(secret: JwtSecret) -> dict[str, Any]:
    return {"key": secret.key, "algorithm": secret.algorithm, "rsa_public_key": secret.rsa_public_key}
