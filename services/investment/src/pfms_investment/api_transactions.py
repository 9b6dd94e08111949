"""Transactions, positions (lots), analytics and snapshot history of a portfolio."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_investment import events, market, state_store, store
from pfms_investment.evaluate import portfolio_analytics, today_utc
from pfms_investment.lots import Disposal, Kind, LotError, Method, Txn, replay
from pfms_investment.models import InvestmentTransaction, PortfolioSnapshot
from pfms_investment.schemas import Analytics, PositionOut, SnapshotOut, TransactionCreate, TransactionOut
from pfms_investment.state import advance, rebuild
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid, NotFound
from pfms_platform.internal import InternalClient
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such portfolio, asset or transaction of the caller"}
}


def txn_out(row: InvestmentTransaction) -> dict[str, Any]:
    return TransactionOut(
        id=row.id,
        portfolio_id=row.portfolio_id,
        asset_id=row.asset_id,
        transaction_type=Kind(row.transaction_type),
        date=row.trade_date,
        quantity=row.quantity,
        price=row.price,
        amount=row.amount,
        fees=row.fees,
        tax=row.tax,
        lots=row.lots,
        notes=row.notes,
        created_at=row.created_at,
    ).model_dump(mode="json")


def _checked_method(cost_method: str, body: TransactionCreate) -> Method:
    """The portfolio's cost method, once the transaction's date and named lots fit it."""
    if body.date > today_utc():
        raise Invalid("date cannot be in the future", field="date")
    method = Method(cost_method)
    if body.lots and method != Method.SPECIFIC:
        raise Invalid("Only a portfolio using specific-lot identification names lots in a sell", field="lots")
    if method == Method.SPECIFIC and body.transaction_type == Kind.SELL and not body.lots:
        raise Invalid("This portfolio uses specific-lot identification: name the lots sold", field="lots")
    return method


async def _owned(
    session: AsyncSession, user: uuid.UUID, portfolio_id: uuid.UUID, transaction_id: uuid.UUID
) -> InvestmentTransaction:
    row = await session.scalar(
        select(InvestmentTransaction).where(
            InvestmentTransaction.id == transaction_id,
            InvestmentTransaction.portfolio_id == portfolio_id,
            InvestmentTransaction.user_id == user,
        )
    )
    if row is None:
        raise NotFound("Transaction not found")
    return row


def client_of(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.market
    return client


@router.post(
    "/{portfolio_id}/transactions",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[TransactionOut],
    responses={**NOT_FOUND, 422: {"description": "Invalid, or more than held would be sold"}},
)
async def add_transaction(
    portfolio_id: uuid.UUID, body: TransactionCreate, user: CurrentUser, session: Session, request: Request
) -> dict[str, Any]:
    """Record a transaction. One dated on or after the asset's last transaction is applied to the asset's
    stored state; an earlier one replays the asset's history with it, and re-issues the realized gains of
    every later sell it changes. Either way a sell (even a backdated one) of more than is held on its
    date is refused, naming the quantity held."""
    portfolio = await store.portfolio(session, user, portfolio_id, lock=True)
    asset = await store.asset(session, user, portfolio_id, body.asset_id)
    method = _checked_method(portfolio.cost_method, body)
    picks = [{"lot_id": str(p.lot_id), "quantity": str(p.quantity)} for p in body.lots]
    row = InvestmentTransaction(
        id=uuid.uuid4(),
        user_id=user,
        portfolio_id=portfolio_id,
        asset_id=asset.id,
        transaction_type=body.transaction_type.value,
        quantity=body.quantity,
        price=body.price,
        amount=body.amount,
        fees=body.fees,
        tax=body.tax,
        trade_date=body.date,
        lots=picks,
        notes=body.notes,
    )
    new = Txn(
        row.id,
        body.transaction_type,
        body.date,
        body.quantity,
        body.price,
        body.fees,
        body.tax,
        body.amount,
        tuple((p.lot_id, p.quantity) for p in body.lots),
    )
    state = await state_store.load(session, asset.id, method)
    revised: tuple[list[Disposal], list[Disposal]] | None = None
    try:
        if state is not None and (state.last_day is None or body.date >= state.last_day):
            disposals = advance(state, new, method)
        else:
            history = (await store.histories(session, portfolio_id, asset.id)).get(asset.id, [])
            before = replay(history, method).disposals
            state, after = rebuild(sorted([*history, new], key=lambda t: t.day), method)  # stable: same day kept
            disposals = [d for d in after if d.txn_id == row.id]
            revised = (before, after)
    except LotError as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    session.add(row)
    await session.flush()
    await session.refresh(row)
    if revised is not None:
        await events.revise_gains(session, portfolio, asset, *revised, "backdated_transaction", skip={row.id})
    await state_store.save(session, portfolio, asset.id, method, state)
    await events.transaction_recorded(session, portfolio, asset, row, disposals)
    if asset.currency != portfolio.base_currency:
        # Best effort: the rate of the trade date, cached now so analytics need not fetch it later.
        await market.fetch_rates(session, client_of(request), {(asset.currency, portfolio.base_currency, body.date)})
    return ok(txn_out(row))


@router.get("/{portfolio_id}/transactions", response_model=PageEnvelope[TransactionOut], responses=NOT_FOUND)
async def list_transactions(
    portfolio_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    page: PageParams = Depends(),
    asset_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    await store.portfolio(session, user, portfolio_id)
    where = [InvestmentTransaction.portfolio_id == portfolio_id]
    if asset_id is not None:
        where.append(InvestmentTransaction.asset_id == asset_id)
    total = await session.scalar(select(func.count()).select_from(InvestmentTransaction).where(*where)) or 0
    rows = await session.scalars(
        select(InvestmentTransaction)
        .where(*where)
        .order_by(InvestmentTransaction.trade_date.desc(), InvestmentTransaction.seq.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([txn_out(r) for r in rows], page, total)


@router.delete(
    "/{portfolio_id}/transactions/{transaction_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 409: {"description": "A later sell depends on it"}},
)
async def delete_transaction(
    portfolio_id: uuid.UUID, transaction_id: uuid.UUID, user: CurrentUser, session: Session
) -> None:
    """Delete a transaction: the asset is replayed without it, and every sell whose realized gains change
    (the deleted sell itself included) is re-issued as `investment.realized_gain_revised`."""
    portfolio = await store.portfolio(session, user, portfolio_id, lock=True)
    row = await _owned(session, user, portfolio_id, transaction_id)
    method = Method(portfolio.cost_method)
    asset = await store.asset(session, user, portfolio_id, row.asset_id)
    history = (await store.histories(session, portfolio_id, row.asset_id)).get(row.asset_id, [])
    try:
        state, after = rebuild([t for t in history if t.id != row.id], method)
    except LotError as exc:
        raise Conflict(f"A later transaction depends on this one: {exc}", field="transaction_id") from exc
    before = replay(history, method).disposals
    await events.revise_gains(session, portfolio, asset, before, after, "transaction_deleted")
    await session.delete(row)
    await state_store.save(session, portfolio, asset.id, method, state)


@router.put(
    "/{portfolio_id}/transactions/{transaction_id}",
    response_model=Envelope[TransactionOut],
    responses={**NOT_FOUND, 422: {"description": "Invalid, another asset, or more than held would be sold"}},
)
async def replace_transaction(
    portfolio_id: uuid.UUID, transaction_id: uuid.UUID, body: TransactionCreate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Correct a transaction (same asset; it keeps its place among the day's transactions). The asset is
    replayed with the new figures, and every sell whose realized gains change (the edited one included)
    is re-issued as `investment.realized_gain_revised`."""
    portfolio = await store.portfolio(session, user, portfolio_id, lock=True)
    row = await _owned(session, user, portfolio_id, transaction_id)
    if body.asset_id != row.asset_id:
        raise Invalid("A transaction cannot move to another asset: delete it and record a new one", field="asset_id")
    method = _checked_method(portfolio.cost_method, body)
    asset = await store.asset(session, user, portfolio_id, row.asset_id)
    before = replay((await store.histories(session, portfolio_id, asset.id)).get(asset.id, []), method).disposals
    row.transaction_type = body.transaction_type.value
    row.trade_date = body.date
    row.quantity, row.price, row.amount, row.fees, row.tax = body.quantity, body.price, body.amount, body.fees, body.tax
    row.lots = [{"lot_id": str(p.lot_id), "quantity": str(p.quantity)} for p in body.lots]
    row.notes = body.notes
    await session.flush()
    try:
        state, after = rebuild((await store.histories(session, portfolio_id, asset.id)).get(asset.id, []), method)
    except LotError as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    await events.revise_gains(session, portfolio, asset, before, after, "transaction_edited")
    await state_store.save(session, portfolio, asset.id, method, state)
    await session.refresh(row)
    return ok(txn_out(row))


@router.get("/{portfolio_id}/assets/{asset_id}/position", response_model=Envelope[PositionOut], responses=NOT_FOUND)
async def position(portfolio_id: uuid.UUID, asset_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Open lots (quantity and remaining cost) and every disposal with its realized gain."""
    portfolio = await store.portfolio(session, user, portfolio_id)
    asset = await store.asset(session, user, portfolio_id, asset_id)
    method = Method(portfolio.cost_method)
    p = replay((await store.histories(session, portfolio_id, asset_id)).get(asset_id, []), method)
    body = PositionOut(
        asset_id=asset.id,
        symbol=asset.symbol,
        currency=asset.currency,
        cost_method=method,
        quantity=p.quantity,
        cost_basis=p.cost,
        realized_pnl=p.realized,
        lots=[
            {"lot_id": lot.id, "acquired": lot.acquired, "quantity": lot.quantity, "cost": lot.cost} for lot in p.lots
        ],
        disposals=[
            {
                "transaction_id": d.txn_id,
                "lot_id": d.lot_id,
                "acquired": d.acquired,
                "disposed": d.disposed,
                "quantity": d.quantity,
                "proceeds": d.proceeds,
                "cost": d.cost,
                "gain": d.gain,
            }
            for d in p.disposals
        ],
    )
    return ok(body.model_dump(mode="json"))


@router.get(
    "/{portfolio_id}/analytics",
    response_model=Envelope[Analytics],
    responses={**NOT_FOUND, 503: {"description": "An FX rate is needed, none is cached and market-data is down"}},
)
async def analytics(portfolio_id: uuid.UUID, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Value, invested, realized and unrealized P&L, allocation, TWR and XIRR over 1M/3M/YTD/1Y/ALL against
    the benchmark, in the base currency. Computed from the full history on every call (no result cache)."""
    portfolio = await store.portfolio(session, user, portfolio_id)
    result = await portfolio_analytics(session, client_of(request), portfolio, today_utc())
    return ok(Analytics.model_validate(result).model_dump(mode="json"))


@router.get("/{portfolio_id}/snapshots", response_model=PageEnvelope[SnapshotOut], responses=NOT_FOUND)
async def snapshots(
    portfolio_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    page: PageParams = Depends(),
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Daily values for charts, oldest first."""
    await store.portfolio(session, user, portfolio_id)
    if start and end and start > end:
        raise Invalid("'from' is after 'to'", field="from")
    where = [PortfolioSnapshot.portfolio_id == portfolio_id]
    if start:
        where.append(PortfolioSnapshot.snapshot_date >= start)
    if end:
        where.append(PortfolioSnapshot.snapshot_date <= end)
    total = await session.scalar(select(func.count()).select_from(PortfolioSnapshot).where(*where)) or 0
    rows = await session.scalars(
        select(PortfolioSnapshot)
        .where(*where)
        .order_by(PortfolioSnapshot.snapshot_date)
        .offset(page.offset)
        .limit(page.limit)
    )
    items = [SnapshotOut.model_validate(r, from_attributes=True).model_dump(mode="json") for r in rows]
    return paged(items, page, total)
