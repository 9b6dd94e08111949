"""Webhook signing as the providers do it, for tests: Plaid's ES256 JWT over the body's SHA-256, with its
key published by `/webhook_verification_key/get` on the replay server; Belvo's shared secret."""

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:  # loaded by file path from tests-e2e too, where there is no package
    from .replay import Replay

BELVO_SECRET = "Bearer belvo-webhook-secret-for-tests"


@dataclass
class PlaidSigner:
    kid: str
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def publish(cls, replay: "Replay", kid: str = "6c5516e1-92dc-479e-a8ff-5a51992e0001") -> "PlaidSigner":
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        body = {
            "key": {**jwk, "alg": "ES256", "kid": kid, "use": "sig", "created_at": 1560466150, "expired_at": None},
            "request_id": "RZ6Omi1bzzwDaLo",
        }
        replay.answer("POST", "/webhook_verification_key/get", body, key_id=kid)
        return cls(kid, key)

    def headers(self, body: bytes, *, age: float = 0, alg: str = "ES256") -> dict[str, str]:
        claims = {"iat": int(time.time() - age), "request_body_sha256": hashlib.sha256(body).hexdigest()}
        key: Any = self.key if alg == "ES256" else "not-the-key-but-a-shared-secret-of-32-bytes"
        token = jwt.encode(claims, key, algorithm=alg, headers={"kid": self.kid})
        return {"Plaid-Verification": token, "Content-Type": "application/json"}


def plaid_body(
    item_id: str, webhook_type: str = "TRANSACTIONS", code: str = "SYNC_UPDATES_AVAILABLE", **more: Any
) -> bytes:
    """A Plaid webhook body as documented (JSON with two-space indentation)."""
    payload = {"environment": "sandbox", "item_id": item_id, "webhook_code": code, "webhook_type": webhook_type, **more}
    return json.dumps(payload, indent=2).encode()


def belvo_body(
    link_id: str, webhook_type: str = "TRANSACTIONS", code: str = "new_transactions_available", **more: Any
) -> bytes:
    payload = {
        "webhook_id": f"{link_id}-{code}-{more.pop('n', 1)}",
        "webhook_type": webhook_type,
        "webhook_code": code,
        "link_id": link_id,
        "request_id": "0bc7f1d2e3a4b5c6d7e8f9a0b1c2d3e4",
        "external_id": None,
        "data": {"new_transactions": 3, **more},
    }
    return json.dumps(payload).encode()
