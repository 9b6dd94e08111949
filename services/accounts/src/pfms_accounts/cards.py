"""Virtual-card rules without I/O: card numbers (Luhn), card states and the authorisation decision.

A card spends from its wallet. An authorisation is approved only when the card is active and unexpired,
in the wallet's currency, within its per-transaction and per-month limits, and the wallet's balance plus
its overdraft covers it; otherwise it is declined with the first reason that applies (in that order, so
a frozen card says `card_frozen` rather than revealing the balance).
"""

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class CardStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class Decline(StrEnum):
    """Why an authorisation was declined (the webhook answer's `reason`)."""

    CARD_FROZEN = "card_frozen"
    CARD_CLOSED = "card_closed"
    CARD_EXPIRED = "card_expired"
    ACCOUNT_ARCHIVED = "account_archived"
    CURRENCY_MISMATCH = "currency_mismatch"
    TRANSACTION_LIMIT = "over_transaction_limit"
    MONTHLY_LIMIT = "over_monthly_limit"
    INSUFFICIENT_FUNDS = "insufficient_funds"


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check (ISO/IEC 7812-1)."""
    if not payload.isdigit():
        raise ValueError("a card number has digits only")
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these sit at odd positions from the right once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return len(number) >= 2 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def new_pan(prefix: str, length: int = 16) -> str:
    """A random Luhn-valid card number starting with the issuer's `prefix` (its BIN)."""
    if not prefix.isdigit() or not 12 <= length <= 19 or len(prefix) >= length:
        raise ValueError("a prefix of digits shorter than a 12-19 digit number")
    body = prefix + "".join(str(secrets.randbelow(10)) for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def new_cvv() -> str:
    return f"{secrets.randbelow(1000):03d}"


def expiry(today: date, years: int) -> tuple[int, int]:
    """(month, year) a card issued today expires: the same month `years` later (valid through its last day)."""
    return today.month, today.year + years


def expired(month: int, year: int, today: date) -> bool:
    return (today.year, today.month) > (year, month)


def last4(pan: str) -> str:
    return pan[-4:]


@dataclass(frozen=True)
class Limits:
    per_transaction: Decimal | None = None
    per_month: Decimal | None = None


@dataclass(frozen=True)
class Spend:
    """What an authorisation is decided on, all read under the wallet's row lock."""

    status: CardStatus
    expiry_month: int
    expiry_year: int
    card_currency: str
    amount: Decimal
    currency: str
    limits: Limits
    spent_this_month: Decimal
    """Approved spends of this card since the first of the current UTC month."""
    balance: Decimal
    floor: Decimal | None
    """The lowest balance the wallet may reach (minus its overdraft), None when it has none."""
    archived: bool
    today: date


def decide(spend: Spend) -> Decline | None:
    """None to approve, else the reason to decline."""
    if spend.status is CardStatus.CLOSED:
        return Decline.CARD_CLOSED
    if spend.status is CardStatus.FROZEN:
        return Decline.CARD_FROZEN
    if expired(spend.expiry_month, spend.expiry_year, spend.today):
        return Decline.CARD_EXPIRED
    if spend.archived:
        return Decline.ACCOUNT_ARCHIVED
    if spend.currency != spend.card_currency:
        return Decline.CURRENCY_MISMATCH
    if spend.limits.per_transaction is not None and spend.amount > spend.limits.per_transaction:
        return Decline.TRANSACTION_LIMIT
    if spend.limits.per_month is not None and spend.spent_this_month + spend.amount > spend.limits.per_month:
        return Decline.MONTHLY_LIMIT
    if spend.floor is not None and spend.balance - spend.amount < spend.floor:
        return Decline.INSUFFICIENT_FUNDS
    return None
