"""The card-issuer adapter interface, and the SANDBOX issuer used for local runs and tests.

A production issuer (a card-issuing processor) plugs in behind `CardIssuer`: it issues the card on its
network and hands back the number once, applies freezes, limits and closures on its side too, and calls
the authorisation webhook, whose payload and signature scheme it defines (`verify` + `parse`).

The sandbox issuer is NOT a card network: it generates Luhn-valid numbers under a test prefix, keeps
no state of its own (the accounts database is the only record) and accepts webhooks signed with the
configured shared secret. Its webhook scheme:

    Card-Webhook-Timestamp: <unix seconds>
    Card-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

    {"id": "<issuer's authorisation id>", "card": "<card token>", "amount": "12.50", "currency": "USD",
     "merchant": "Coffee Bar", "occurred_at": "2026-11-26T14:00:00Z"}

A delivery older or newer than `tolerance` (5 min) is refused, so a captured one cannot be replayed
later; the signature is compared in constant time.
"""

import hashlib
import hmac
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from pfms_accounts import cards
from pfms_accounts.cards import Limits
from pfms_accounts.settings import Settings
from pfms_platform.errors import Invalid, Unauthorized

TIMESTAMP_HEADER = "Card-Webhook-Timestamp"
SIGNATURE_HEADER = "Card-Webhook-Signature"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class IssuedCard:
    token: str
    """The issuer's id of the card: what its webhooks name the card by."""
    pan: str
    cvv: str
    expiry_month: int
    expiry_year: int


@dataclass(frozen=True)
class Authorisation:
    """An authorisation request from the issuer, in the issuer-neutral form the decision is made on."""

    id: str
    card_token: str
    amount: Decimal
    currency: str
    merchant: str | None
    occurred_at: datetime


class CardIssuer(ABC):
    """What the accounts service asks of a card issuer."""

    name: str

    @abstractmethod
    async def issue(self, holder: str, currency: str, limits: Limits) -> IssuedCard: ...

    @abstractmethod
    async def freeze(self, token: str) -> None: ...

    @abstractmethod
    async def unfreeze(self, token: str) -> None: ...

    @abstractmethod
    async def set_limits(self, token: str, limits: Limits) -> None: ...

    @abstractmethod
    async def close(self, token: str) -> None: ...

    @abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        """Raise Unauthorized unless the webhook delivery is the issuer's, signed and fresh."""

    @abstractmethod
    def parse(self, body: bytes) -> Authorisation:
        """The authorisation a verified delivery asks for (Invalid when malformed)."""


def _refused(message: str) -> Unauthorized:
    return Unauthorized(message, code="BAD_SIGNATURE", headers={})  # no bearer challenge: not a user's call


class SandboxIssuer(CardIssuer):
    """Local and test issuer: numbers under a test prefix, no network, webhooks signed with a shared secret."""

    name = "sandbox"
    PREFIX = "400000"
    """A Visa-range test prefix: the numbers pass the Luhn check but belong to no real account."""

    def __init__(self, secret: str, *, expiry_years: int = 3) -> None:
        self._secret = secret.encode()
        self._years = expiry_years

    async def issue(self, holder: str, currency: str, limits: Limits) -> IssuedCard:
        month, year = cards.expiry(datetime.now(UTC).date(), self._years)
        return IssuedCard("sbx_" + secrets.token_hex(12), cards.new_pan(self.PREFIX), cards.new_cvv(), month, year)

    async def freeze(self, token: str) -> None:
        """Nothing to tell: the sandbox's authorisations are decided by the accounts service alone."""

    async def unfreeze(self, token: str) -> None:
        """As `freeze`."""

    async def set_limits(self, token: str, limits: Limits) -> None:
        """As `freeze`."""

    async def close(self, token: str) -> None:
        """As `freeze`."""

    def signature(self, timestamp: int, body: bytes) -> str:
        return "v1=" + hmac.new(self._secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers the sandbox sends with a delivery (for tests, the benchmark and local runs)."""
        stamp = int(time.time()) if timestamp is None else timestamp
        return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: self.signature(stamp, body)}

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        stamp, given = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
        if not stamp or not given or not stamp.isdigit():
            raise _refused("Missing webhook signature")
        if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE_SECONDS:
            raise _refused("Webhook timestamp outside the tolerance")
        if not hmac.compare_digest(self.signature(int(stamp), body).encode(), given.encode()):
            raise _refused("Bad webhook signature")

    def parse(self, body: bytes) -> Authorisation:
        try:
            data = json.loads(body)
            at = datetime.fromisoformat(str(data["occurred_at"]))
            auth = Authorisation(
                id=str(data["id"]),
                card_token=str(data["card"]),
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                merchant=str(data["merchant"]) if data.get("merchant") else None,
                occurred_at=at if at.tzinfo else at.replace(tzinfo=UTC),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise Invalid(f"Malformed authorisation: {exc}", field="body") from None
        if not auth.id or len(auth.id) > 200 or not auth.amount.is_finite() or auth.amount <= 0:
            raise Invalid("Malformed authorisation: id and a positive amount are required", field="body")
        return auth


def issuers(settings: Settings) -> dict[str, CardIssuer]:
    """The issuers whose cards this deployment holds (and whose webhooks it accepts), by name."""
    sandbox = SandboxIssuer(settings.card_sandbox_secret.get_secret_value(), expiry_years=settings.card_expiry_years)
    return {sandbox.name: sandbox}


def sandbox_payload(
    auth_id: str, card_token: str, amount: str, currency: str, merchant: str | None = None, on: date | None = None
) -> bytes:
    """A sandbox webhook body (what the sandbox would send), for tests, the benchmark and local runs."""
    at = datetime.now(UTC) if on is None else datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    return json.dumps(
        {
            "id": auth_id,
            "card": card_token,
            "amount": amount,
            "currency": currency,
            "merchant": merchant,
            "occurred_at": at.isoformat(),
        }
    ).encode()
