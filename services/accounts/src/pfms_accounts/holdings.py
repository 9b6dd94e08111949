"""Loan payments and investment transactions booked on the accounts linked to their loan or portfolio.

A loan-type account with `loan_id` carries the loan's principal (negative: owed by the person; positive: a
loan they gave); each `loan.payment` moves it toward zero by the payment's `principal_paid`. Interest and late
fees are the cost of the loan, not a change of what is owed, so they do not touch it (they left whichever
account the money came from, which the event does not name).

An investment-type account with `portfolio_id` carries the portfolio's book value: the cash put in and earned
less the cash taken out (not its market value). `holding_change` is the rule per transaction type.

Either is one entry against the person's external counter-account (the other side is outside their books, as
for an expense or income), with `source_ref` naming the payment or transaction, so a redelivered event books
nothing (`ledger.book`). Only the event user's own personal account in the event's currency books; otherwise
nothing is booked (logged). The contracts have no edit or deletion of a payment or transaction to follow.
"""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import domain, ledger
from pfms_accounts.domain import AccountType, EntryKind
from pfms_accounts.models import Account
from pfms_contracts.investment import InvestmentTransaction
from pfms_contracts.loan import Direction, LoanPaymentMade
from pfms_finance.currency import quantize
from pfms_platform.errors import NotFound
from pfms_platform.logging import get_logger

log = get_logger(__name__)

BOUGHT = frozenset({"buy", "transfer_in"})
"""Value brought into the portfolio: its cost, fees and tax included."""
SOLD = frozenset({"sell", "transfer_out"})
"""Value taken out: the proceeds net of fees and tax."""


def loan_change(direction: Direction, principal_paid: Decimal, currency: str) -> Decimal:
    """What a payment does to the loan's account: a repaid borrowing owes less (up), a repaid loan given is owed
    less (down), by the principal, rounded half-even to the currency's minor unit."""
    principal = quantize(principal_paid, currency)
    return principal if direction == "borrowed" else -principal


def holding_change(transaction_type: str, amount: Decimal, fees: Decimal, tax: Decimal, currency: str) -> Decimal:
    """What a transaction does to the portfolio's book value (`amount` is the contract's gross cash amount):
    buy / transfer in + (amount + fees + tax); sell / transfer out - (amount - fees - tax); dividend
    + (amount - fees - tax), cash received into the portfolio; fee - (amount + fees + tax); a split moves no
    money (0). Rounded half-even to the currency's minor unit."""
    if transaction_type in BOUGHT:
        change = amount + fees + tax
    elif transaction_type in SOLD:
        change = -(amount - fees - tax)
    elif transaction_type == "dividend":
        change = amount - fees - tax
    elif transaction_type == "fee":
        change = -(amount + fees + tax)
    else:
        change = Decimal(0)
    return quantize(change, currency)


async def _linked_account(
    session: AsyncSession, user_id: uuid.UUID, account_type: AccountType, link: Any, currency: str
) -> Account | None:
    """The user's own open account of the type linked to the loan or portfolio in the currency (the oldest if
    several are)."""
    candidates = await session.scalars(
        select(Account.id)
        .where(
            Account.user_id == user_id,
            Account.type == account_type.value,
            link,
            Account.currency == currency,
            Account.archived.is_(False),
        )
        .order_by(Account.created_at, Account.id)
    )
    for account_id in candidates.all():
        try:
            return await ledger.account_of(session, user_id, account_id)  # the user's personal books only
        except NotFound:
            continue
    return None


async def _book(
    session: AsyncSession,
    user_id: uuid.UUID,
    account: Account | None,
    kind: EntryKind,
    change: Decimal,
    ref: str,
    description: str,
) -> None:
    if account is None:
        log.warning("not booked: no open linked account of the user in the currency", ref=ref)
        return
    if not change:
        return
    edge = await ledger.external(session, user_id, account.currency)
    legs = domain.external_legs(account.id, edge, account.currency, change)
    booked = await ledger.book(
        session, user_id, kind, legs, description=description, source_ref=ref, enforce_floors=False
    )
    if booked is None:
        log.info("already booked", ref=ref)


async def on_loan_payment(session: AsyncSession, data: LoanPaymentMade) -> None:
    """The loan's linked account moves toward zero by the principal paid."""
    account = await _linked_account(
        session, data.user_id, AccountType.LOAN, Account.loan_id == data.loan_id, data.currency
    )
    description = (
        f"Loan payment of {data.amount} {data.currency} on {data.payment_date}: principal {data.principal_paid}, "
        f"interest {data.interest_paid}, late fee {data.late_fee_paid}"
    )
    change = loan_change(data.direction, data.principal_paid, data.currency)
    await _book(
        session, data.user_id, account, EntryKind.LOAN_PAYMENT, change, f"loan_payment:{data.payment_id}", description
    )


async def on_investment_transaction(session: AsyncSession, data: InvestmentTransaction) -> None:
    """The portfolio's linked account moves by the transaction's cash (`holding_change`)."""
    account = await _linked_account(
        session, data.user_id, AccountType.INVESTMENT, Account.portfolio_id == data.portfolio_id, data.currency
    )
    change = holding_change(data.transaction_type, data.amount, data.fees, data.tax, data.currency)
    description = f"{data.transaction_type} {data.symbol}: {data.amount} {data.currency} on {data.transaction_date}"
    await _book(
        session, data.user_id, account, EntryKind.INVESTMENT, change, f"investment:{data.transaction_id}", description
    )
