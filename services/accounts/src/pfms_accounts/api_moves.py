"""HTTP routes that move money: transfers between the caller's accounts and quoted currency exchanges.

Every POST here takes an `Idempotency-Key` header (see `idempotency`). Both accounts must be of the
caller's scope (`X-Space-ID`: personal, or one space where the caller may write; else 404, a viewer 403)
and not archived; a wallet never goes below minus its overdraft limit. The money moves on that scope's books.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import domain, fx, idempotency, ledger
from pfms_accounts.domain import EntryKind
from pfms_accounts.idempotency import KeyHeader
from pfms_accounts.models import FxQuote, JournalEntry, Posting
from pfms_accounts.schemas import EntryOut, ExchangeCreate, LegOut, QuoteCreate, QuoteOut, TransferCreate
from pfms_accounts.settings import Settings
from pfms_contracts.accounts import ExchangeCompleted, TransferCompleted
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.spaces import CurrentScope

router = APIRouter(prefix="/api/v1/accounts", tags=["transfers and exchange"])

MOVE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "An account (or quote) that is not the caller's"},
    422: {"description": "Invalid body, insufficient funds, archived account, or a reused Idempotency-Key"},
}


def entry_out(entry: JournalEntry, postings: list[Posting], own: set[uuid.UUID]) -> dict[str, Any]:
    legs = [
        LegOut(account_id=p.account_id, amount=p.amount, currency=p.currency, balance_after=p.balance_after)
        for p in postings
        if p.account_id in own
    ]
    return EntryOut(
        id=entry.id,
        kind=entry.kind,
        description=entry.description,
        rate=entry.rate,
        fee=entry.fee,
        created_at=entry.created_at,
        legs=legs,
    ).model_dump(mode="json")


async def once(
    session: AsyncSession,
    request: Request,
    response: Response,
    user: uuid.UUID,
    key: str | None,
    body: BaseModel,
    run: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run a money-moving request at most once per Idempotency-Key (answers replayed for 24 h)."""
    if key is None:
        return ok(await run())
    settings: Settings = request.app.state.settings
    first = await idempotency.claim(
        session, user, key, idempotency.fingerprint(request, body), settings.idempotency_ttl_hours
    )
    if first is not None:
        idempotency.replayed(response)
        return ok(first)
    data = await run()
    await idempotency.keep(session, user, key, data)
    return ok(data)


@router.post(
    "/transfers", status_code=status.HTTP_201_CREATED, response_model=Envelope[EntryOut], responses=MOVE_ERRORS
)
async def transfer(
    body: TransferCreate,
    scope: CurrentScope,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Move `amount` from one of the scope's accounts to another of the same currency."""
    scope.require("write")
    user = scope.user_id

    async def run() -> dict[str, Any]:
        if body.from_account_id == body.to_account_id:
            raise Invalid("Pick two different accounts", field="to_account_id")
        source = await ledger.account_of(session, scope, body.from_account_id)
        target = await ledger.account_of(session, scope, body.to_account_id)
        ledger.movable(source, "from_account_id")
        ledger.movable(target, "to_account_id")
        if source.currency != target.currency:
            raise Invalid(
                f"The accounts are in {source.currency} and {target.currency}: exchange instead",
                field="to_account_id",
                code="CURRENCY_MISMATCH",
            )
        ledger.check_amount(body.amount, source.currency)
        legs = domain.transfer_legs(source.id, target.id, source.currency, body.amount)
        booked = await ledger.book(
            session, ledger.owner(source), EntryKind.TRANSFER, legs, description=body.description
        )
        assert booked is not None  # no source_ref: always books
        entry, postings = booked
        await emit(
            session,
            TransferCompleted(
                user_id=user,
                entry_id=entry.id,
                from_account_id=source.id,
                to_account_id=target.id,
                amount=body.amount,
                currency=source.currency,
                space_id=scope.space_id,
            ),
        )
        return entry_out(entry, postings, {source.id, target.id})

    return await once(session, request, response, user, idempotency_key, body, run)


@router.post(
    "/exchanges/quotes", status_code=status.HTTP_201_CREATED, response_model=Envelope[QuoteOut], responses=MOVE_ERRORS
)
async def create_quote(body: QuoteCreate, scope: CurrentScope, session: Session, request: Request) -> dict[str, Any]:
    """Rate (market-data) and fee for selling `amount` of one account's currency into another account's;
    executable for `quote_ttl_seconds` (30 s). Moves no money."""
    scope.require("write")
    settings: Settings = request.app.state.settings
    source = await ledger.account_of(session, scope, body.from_account_id)
    target = await ledger.account_of(session, scope, body.to_account_id)
    ledger.movable(source, "from_account_id")
    ledger.movable(target, "to_account_id")
    if source.currency == target.currency:
        raise Invalid("The accounts share a currency: transfer instead", field="to_account_id", code="SAME_CURRENCY")
    ledger.check_amount(body.amount, source.currency)
    rate = await fx.rate(request.app, source.currency, target.currency, datetime.now(UTC).date())
    q = domain.quote(body.amount, source.currency, target.currency, rate, settings.exchange_fee_percent)
    row = FxQuote(
        id=uuid.uuid4(),
        user_id=scope.user_id,
        from_account_id=source.id,
        to_account_id=target.id,
        sell_amount=q.sell_amount,
        sell_currency=q.sell_currency,
        buy_amount=q.buy_amount,
        buy_currency=q.buy_currency,
        rate=q.rate,
        fee=q.fee,
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.quote_ttl_seconds),
    )
    session.add(row)
    await session.flush()
    return ok(QuoteOut.model_validate(row, from_attributes=True).model_dump(mode="json"))


@router.post(
    "/exchanges", status_code=status.HTTP_201_CREATED, response_model=Envelope[EntryOut], responses=MOVE_ERRORS
)
async def exchange(
    body: ExchangeCreate,
    scope: CurrentScope,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Execute a quote while it is valid (else 422 QUOTE_EXPIRED); a quote executes once (else 422 QUOTE_USED)."""
    scope.require("write")
    user = scope.user_id

    async def run() -> dict[str, Any]:
        quote = await session.scalar(
            select(FxQuote).where(FxQuote.id == body.quote_id, FxQuote.user_id == user).with_for_update()
        )
        if quote is None:
            raise NotFound("Quote not found")
        if quote.entry_id is not None:
            raise Invalid("The quote was executed already", field="quote_id", code="QUOTE_USED")
        if quote.expires_at <= datetime.now(UTC):
            raise Invalid("The quote expired: ask for a new one", field="quote_id", code="QUOTE_EXPIRED")
        source = await ledger.account_of(session, scope, quote.from_account_id)
        target = await ledger.account_of(session, scope, quote.to_account_id)
        ledger.movable(source, "from_account_id")
        ledger.movable(target, "to_account_id")
        q = domain.Quote(
            quote.sell_amount, quote.sell_currency, quote.fee, quote.rate, quote.buy_amount, quote.buy_currency
        )
        books = ledger.owner(source)
        legs = domain.exchange_legs(
            source.id,
            target.id,
            await ledger.external(session, books, q.sell_currency),
            await ledger.external(session, books, q.buy_currency),
            q,
        )
        booked = await ledger.book(
            session,
            books,
            EntryKind.EXCHANGE,
            legs,
            description=f"{q.sell_currency} → {q.buy_currency}",
            rate=q.rate,
            fee=q.fee,
        )
        assert booked is not None
        entry, postings = booked
        quote.entry_id = entry.id
        await emit(
            session,
            ExchangeCompleted(
                user_id=user,
                entry_id=entry.id,
                from_account_id=source.id,
                to_account_id=target.id,
                sell_amount=q.sell_amount,
                sell_currency=q.sell_currency,
                buy_amount=q.buy_amount,
                buy_currency=q.buy_currency,
                rate=q.rate,
                fee=q.fee,
                space_id=scope.space_id,
            ),
        )
        return entry_out(entry, postings, {source.id, target.id})

    return await once(session, request, response, user, idempotency_key, body, run)
