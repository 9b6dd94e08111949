"""Card authorisations against the wallet, and recognising the expense recorded from an approved spend.

`authorise` decides and books under the wallet's row lock, so parallel authorisations on one wallet
(or card) run one after the other against the balance and monthly spend the previous one left: they
can never overdraw it or pass a limit together. An approved spend is an `expense` journal entry out of
the wallet against the person's external counter-account, and an `account.transaction_imported`
(source `card`, `posted`) for the expense service. The authorisation row is unique per (issuer,
external id), so a redelivered webhook gets the first answer and books nothing.

The expense service records that spend as an expense naming the wallet, and its `expense.created`
comes back here; `recognise` maps it to the authorisation (`expense_id`) so it is not booked a second
time, and that expense's later updates and deletion book nothing either: the card's authorisation is
the ledger's record of the money that left.
"""

import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import cards, domain, ledger
from pfms_accounts.card_models import Card, CardAuthorisation
from pfms_accounts.cards import CardStatus, Limits
from pfms_accounts.domain import EntryKind
from pfms_accounts.issuer import Authorisation
from pfms_contracts.accounts import TransactionImported
from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_finance.currency import minor_units, normalise_currency
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.export import Exporter, Rows

MAX_AMOUNT = Decimal("1e15")


def month_start(now: datetime) -> datetime:
    return datetime.combine(now.date().replace(day=1), time(), tzinfo=UTC)


async def spent_this_month(session: AsyncSession, card_id: uuid.UUID, now: datetime) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(CardAuthorisation.amount), 0)).where(
            CardAuthorisation.card_id == card_id,
            CardAuthorisation.approved.is_(True),
            CardAuthorisation.created_at >= month_start(now),
        )
    )
    return Decimal(total or 0)


def _checked(auth: Authorisation) -> tuple[Decimal, str]:
    """The amount and currency of a well-formed request (else 422: nothing is recorded)."""
    try:
        currency = normalise_currency(auth.currency)
    except ValueError:
        raise Invalid("Unknown currency", field="currency") from None
    if auth.amount >= MAX_AMOUNT or auth.amount != auth.amount.quantize(Decimal(1).scaleb(-minor_units(currency))):
        raise Invalid(f"Not an amount of {currency}", field="amount")
    return auth.amount, currency


async def authorise(
    session: AsyncSession, issuer: str, auth: Authorisation, now: datetime | None = None
) -> CardAuthorisation:
    """Approve or decline `auth` (a redelivery: the first answer); approved spends are booked and published."""
    amount, currency = _checked(auth)
    card = await session.scalar(select(Card).where(Card.issuer == issuer, Card.token == auth.card_token))
    if card is None:
        raise NotFound("Unknown card")
    user = card.user_id
    # Every lock up front in id order (the wallet and its counter-account), as `ledger.book` takes them.
    edge = await ledger.external(session, user, card.currency)
    wallet = (await ledger.lock(session, user, [card.account_id, edge]))[card.account_id]
    first = await session.scalar(
        select(CardAuthorisation).where(CardAuthorisation.issuer == issuer, CardAuthorisation.external_id == auth.id)
    )
    if first is not None:
        return first
    await session.refresh(card, with_for_update=True)  # its status and limits as they are now
    now = now or datetime.now(UTC)
    decline = cards.decide(
        cards.Spend(
            status=CardStatus(card.status),
            expiry_month=card.expiry_month,
            expiry_year=card.expiry_year,
            card_currency=card.currency,
            amount=amount,
            currency=currency,
            limits=Limits(card.limit_per_transaction, card.limit_per_month),
            spent_this_month=await spent_this_month(session, card.id, now),
            balance=wallet.balance,
            floor=domain.floor(wallet.type, wallet.overdraft_limit),
            archived=wallet.archived,
            today=now.date(),
        )
    )
    row = CardAuthorisation(
        id=uuid.uuid4(),
        user_id=user,
        card_id=card.id,
        account_id=wallet.id,
        issuer=issuer,
        external_id=auth.id,
        amount=amount,
        currency=currency,
        merchant=auth.merchant,
        description=auth.merchant or f"Card •••• {card.last4}",
        occurred_at=auth.occurred_at,
        approved=decline is None,
        reason=decline.value if decline else None,
        created_at=now,
    )
    if decline is None:
        legs = domain.external_legs(wallet.id, edge, currency, -amount)
        booked = await ledger.book(
            session, user, EntryKind.EXPENSE, legs, description=row.description, source_ref=f"card:{row.id}"
        )
        assert booked is not None  # a fresh source_ref
        row.entry_id = booked[0].id
        await emit(
            session,
            TransactionImported(
                user_id=user,
                transaction_id=row.id,
                account_id=wallet.id,
                source="card",
                external_id=f"{issuer}:{auth.id}",
                direction="debit",
                amount=amount,
                currency=currency,
                description=row.description,
                merchant=auth.merchant,
                occurred_on=auth.occurred_at.astimezone(UTC).date(),
                posted=True,
            ),
        )
    session.add(row)
    await session.flush()
    return row


async def recognise(session: AsyncSession, data: ExpenseCreated | ExpenseUpdated | ExpenseDeleted) -> bool:
    """True when the expense is a card spend's (booked at authorisation): the ledger must not book it.

    `expense.created` carries no reference to the transaction it was recorded from, so a new expense on
    a wallet is matched to an approved, not yet matched spend of that wallet with the same amount,
    currency and day (the same description first, then the oldest); one expense per spend."""
    mapped = await session.scalar(
        select(CardAuthorisation.id).where(
            CardAuthorisation.user_id == data.user_id, CardAuthorisation.expense_id == data.expense_id
        )
    )
    if mapped is not None:
        return True
    if not isinstance(data, ExpenseCreated) or data.account_id is None:
        return False
    day = datetime.combine(data.expense_date, time(), tzinfo=UTC)
    spend = await session.scalar(
        select(CardAuthorisation)
        .where(
            CardAuthorisation.user_id == data.user_id,
            CardAuthorisation.account_id == data.account_id,
            CardAuthorisation.approved.is_(True),
            CardAuthorisation.expense_id.is_(None),
            CardAuthorisation.amount == data.amount,
            CardAuthorisation.currency == data.currency,
            CardAuthorisation.occurred_at >= day,
            CardAuthorisation.occurred_at < day + timedelta(days=1),
        )
        .order_by(case((CardAuthorisation.description == data.description, 0), else_=1), CardAuthorisation.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if spend is None:
        return False
    spend.expense_id = data.expense_id
    return True


def without_card_secrets(exporter: Exporter) -> Exporter:
    """The GDPR export without the card numbers and CVVs (a card is exported by its last four digits): the
    export travels as a file, and a usable card number has no place in it."""

    async def export(session: AsyncSession, user_id: uuid.UUID) -> Rows:
        tables = await exporter(session, user_id)
        for row in tables.get(Card.__tablename__, []):
            row.pop("pan", None)
            row.pop("cvv", None)
        return tables

    return export
