"""Ledger rules without I/O: balanced journal entries, wallet floors, exchange quotes and net worth.

Every movement is a journal entry of two or more legs whose amounts sum to zero in each currency.
Money that enters or leaves the user's books (an opening balance, an expense, a reconciliation, the
other side of an exchange) is booked against the user's `external` counter-account of that currency,
so the sum of all postings per currency is zero at every moment. A leg's amount is positive when the
account gains value (a deposit, a repaid credit card) and negative when it loses it.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from pfms_finance.currency import quantize
from pfms_platform.errors import Invalid


class AccountType(StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"
    CREDIT_CARD = "credit_card"
    CASH = "cash"
    WALLET = "wallet"
    INVESTMENT = "investment"
    LOAN = "loan"
    PROPERTY = "property"
    VEHICLE = "vehicle"
    EXTERNAL = "external"
    """The user's counter-account per currency for money entering or leaving their books; never listed."""
    CLEARING = "clearing"
    """The user's P2P payments in flight per currency (held until the payee accepts); never listed."""


BOOKS_ONLY = frozenset({AccountType.EXTERNAL, AccountType.CLEARING})
"""Accounts of the books themselves: never listed, addressed or chosen by the person."""
USER_TYPES = tuple(t for t in AccountType if t not in BOOKS_ONLY)
FLOORED = frozenset({AccountType.WALLET})
"""Accounts that may not go below minus their overdraft limit (zero when none is set)."""


class EntryKind(StrEnum):
    OPENING = "opening"
    TRANSFER = "transfer"
    EXCHANGE = "exchange"
    ADJUSTMENT = "adjustment"
    EXPENSE = "expense"
    INCOME = "income"
    PAYMENT = "payment"
    LOAN_PAYMENT = "loan_payment"
    INVESTMENT = "investment"


@dataclass(frozen=True)
class Leg:
    account_id: Hashable
    currency: str
    amount: Decimal


def check_balanced(legs: Iterable[Leg]) -> list[Leg]:
    """The legs of one entry: at least two, none zero, summing to zero in each currency."""
    legs = list(legs)
    if len(legs) < 2:
        raise ValueError("a journal entry has at least two legs")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:
        if leg.amount == 0:
            raise ValueError("a leg moves a non-zero amount")
        sums[leg.currency] += leg.amount
    unbalanced = {c: s for c, s in sums.items() if s != 0}
    if unbalanced:
        raise ValueError(f"legs do not balance: {unbalanced}")
    return legs


def floor(account_type: str, overdraft_limit: Decimal | None) -> Decimal | None:
    """The lowest balance the account may reach, or None when it has no floor."""
    if AccountType(account_type) in FLOORED:
        return -(overdraft_limit or Decimal(0))
    return None


def apply(
    balances: Mapping[Hashable, Decimal], legs: Iterable[Leg], floors: Mapping[Hashable, Decimal | None]
) -> dict[Any, Decimal]:
    """New balances after the legs; refuses (422 INSUFFICIENT_FUNDS on `amount`) to take an account below its floor."""
    after = dict(balances)
    for leg in legs:
        after[leg.account_id] = after.get(leg.account_id, Decimal(0)) + leg.amount
    for account_id, balance in after.items():
        lowest = floors.get(account_id)
        if lowest is not None and balance < lowest and balance < balances.get(account_id, Decimal(0)):
            raise Invalid(
                "Insufficient funds: the account would go below its overdraft limit",
                field="amount",
                code="INSUFFICIENT_FUNDS",
            )
    return after


def transfer_legs(source: Hashable, target: Hashable, currency: str, amount: Decimal) -> list[Leg]:
    return check_balanced([Leg(source, currency, -amount), Leg(target, currency, amount)])


def external_legs(account: Hashable, external: Hashable, currency: str, amount: Decimal) -> list[Leg]:
    """Money entering (amount > 0) or leaving (< 0) the books through the account."""
    return check_balanced([Leg(account, currency, amount), Leg(external, currency, -amount)])


@dataclass(frozen=True)
class Quote:
    sell_amount: Decimal
    sell_currency: str
    fee: Decimal
    rate: Decimal
    buy_amount: Decimal
    buy_currency: str


def quote(sell: Decimal, sell_currency: str, buy_currency: str, rate: Decimal, fee_percent: Decimal) -> Quote:
    """The fee (banker's rounding, in the sold currency) comes off first; the rest converts at `rate` and is
    rounded down to the bought currency's minor unit, so the exchange never pays out more than it was paid."""
    if sell <= 0 or rate <= 0:
        raise Invalid("The amount must be positive", field="amount")
    fee = quantize(sell * fee_percent / 100, sell_currency, ROUND_HALF_EVEN)
    buy = quantize((sell - fee) * rate, buy_currency, ROUND_DOWN)
    if buy <= 0:
        raise Invalid("The amount is too small to exchange", field="amount")
    return Quote(sell, sell_currency, fee, rate, buy, buy_currency)


def exchange_legs(
    source: Hashable, target: Hashable, source_external: Hashable, target_external: Hashable, q: Quote
) -> list[Leg]:
    """The sold amount (fee included) leaves the books in one currency; the bought amount enters in the other."""
    return check_balanced(
        [
            Leg(source, q.sell_currency, -q.sell_amount),
            Leg(source_external, q.sell_currency, q.sell_amount),
            Leg(target_external, q.buy_currency, -q.buy_amount),
            Leg(target, q.buy_currency, q.buy_amount),
        ]
    )


@dataclass(frozen=True)
class Holding:
    currency: str
    balance: Decimal


@dataclass(frozen=True)
class NetWorth:
    currency: str
    assets: Decimal
    liabilities: Decimal

    @property
    def net_worth(self) -> Decimal:
        return self.assets - self.liabilities


def net_worth(holdings: Iterable[Holding], currency: str, rates: Mapping[str, Decimal]) -> NetWorth:
    """Assets minus liabilities in `currency`; `rates[c]` is units of `currency` per unit of `c`.

    A negative balance (a credit card or loan owed, an overdrawn account) is a liability, a positive one
    (an overpaid card too) an asset. Each side is summed unrounded and rounded once, banker's rounding.
    """
    assets = liabilities = Decimal(0)
    for h in holdings:
        value = h.balance * (Decimal(1) if h.currency == currency else rates[h.currency])
        if value >= 0:
            assets += value
        else:
            liabilities -= value
    return NetWorth(currency, quantize(assets, currency), quantize(liabilities, currency))
