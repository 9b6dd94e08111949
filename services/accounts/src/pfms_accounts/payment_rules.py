"""P2P payment rules without I/O: the status machine and the legs each saga step books.

A payment moves money between two people's books in steps, each its own balanced entry on one
person's ledger, so every person's books balance on their own (and purging a person keeps every
currency's sum at zero):

- hold (payer): the payer's account → the payer's `clearing` account of the currency (money in flight,
  still the payer's);
- settle (payer, then payee, in one transaction): the payer's clearing → the payer's `external` edge
  (the money leaves their books), the payee's `external` edge → the payee's account;
- refund (payer, the compensation of a decline, a cancel or a failure): the payer's clearing → back to
  the account it came from.

Statuses only move forward along `TRANSITIONS`; a step that finds its payment past it does nothing,
which is what makes each step safe to repeat.
"""

from collections.abc import Hashable
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pfms_accounts.domain import AccountType, Leg, check_balanced


class PaymentStatus(StrEnum):
    REQUESTED = "requested"
    """The payee asked; nothing moved yet. The payer pays or declines."""
    SENT = "sent"
    """The payer's money is held in their clearing account; the payee accepts it (or declines)."""
    ACCEPTED = "accepted"
    """The payee named the account; the payee's leg is being booked."""
    SETTLED = "settled"
    DECLINED = "declined"
    """A request the payer declined (nothing moved), or a sent payment the payee declined (refund follows)."""
    FAILED = "failed"
    """The payment could not be delivered (expired, the payee's account or the payee gone); refund follows."""
    REFUNDED = "refunded"
    EXPIRED = "expired"
    """A request nobody answered in time; nothing moved."""
    CANCELLED = "cancelled"
    """Taken back before acceptance by who started it: a sent payment by its payer (refund follows), a
    request by its payee (nothing moved)."""


FailReason = Literal["expired", "account_unavailable", "user_deleted"]
RefundReason = Literal["declined", "cancelled", "expired", "account_unavailable", "user_deleted"]

S = PaymentStatus
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.REQUESTED: frozenset({S.SENT, S.DECLINED, S.EXPIRED, S.CANCELLED}),
    S.SENT: frozenset({S.ACCEPTED, S.DECLINED, S.FAILED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.SETTLED, S.FAILED}),
    S.DECLINED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset({S.REFUNDED}),
    S.FAILED: frozenset({S.REFUNDED}),
    S.SETTLED: frozenset(),
    S.REFUNDED: frozenset(),
    S.EXPIRED: frozenset(),
}
OPEN = frozenset({S.REQUESTED, S.SENT, S.ACCEPTED})
"""Waiting for someone: these expire, and a deleted person's open payments are compensated."""

PAYING_TYPES = frozenset({AccountType.WALLET, AccountType.CHECKING})
"""Accounts a payment may come from."""
RECEIVING_TYPES = frozenset({AccountType.WALLET, AccountType.CHECKING, AccountType.SAVINGS})
"""Accounts a payment may be accepted into."""


def can_move(current: PaymentStatus, target: PaymentStatus, *, held: bool = False) -> bool:
    """Whether `current` may become `target`; a decline refunds only money that is held."""
    if target is S.REFUNDED and not held:
        return False
    return target in TRANSITIONS[current]


def hold_legs(account: Hashable, clearing: Hashable, currency: str, amount: Decimal) -> list[Leg]:
    return check_balanced([Leg(account, currency, -amount), Leg(clearing, currency, amount)])


def release_legs(clearing: Hashable, edge: Hashable, currency: str, amount: Decimal) -> list[Leg]:
    """The held money leaves the payer's books (towards the payee)."""
    return check_balanced([Leg(clearing, currency, -amount), Leg(edge, currency, amount)])


def receive_legs(account: Hashable, edge: Hashable, currency: str, amount: Decimal) -> list[Leg]:
    """The money enters the payee's books into the account they accepted it in."""
    return check_balanced([Leg(edge, currency, -amount), Leg(account, currency, amount)])


def refund_legs(account: Hashable, clearing: Hashable, currency: str, amount: Decimal) -> list[Leg]:
    """The compensation: the hold goes back to the account it came from (the reverse of `hold_legs`)."""
    return check_balanced([Leg(clearing, currency, -amount), Leg(account, currency, amount)])


def auto_account(candidates: list[tuple[Hashable, str, str, bool]], currency: str) -> Hashable | None:
    """The account an incoming payment lands in without asking: the payee's only open receiving account
    of the currency. `candidates` are (id, type, currency, archived); none or several → the payee picks."""
    fitting = [
        account_id
        for account_id, kind, ccy, archived in candidates
        if ccy == currency and not archived and kind in RECEIVING_TYPES
    ]
    return fitting[0] if len(fitting) == 1 else None
