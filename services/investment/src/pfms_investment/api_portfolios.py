"""Portfolio and asset routes: CRUD, unique names per user, every row scoped to its owner."""

import uuid
from typing import Any

from fastapi import APIRouter, Depends, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pfms_investment import events, state_store, store, tracking
from pfms_investment.evaluate import today_utc
from pfms_investment.lots import LotError, Method, replay
from pfms_investment.models import Asset, ManualPrice, Portfolio
from pfms_investment.schemas import (
    AssetCreate,
    AssetOut,
    AssetUpdate,
    PortfolioCreate,
    PortfolioOut,
    PortfolioUpdate,
)
from pfms_investment.state import rebuild
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such portfolio (or asset) of the caller"}}
NAME_TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "The caller has a portfolio with this name"}}


def portfolio_out(row: Portfolio) -> dict[str, Any]:
    benchmark = (
        {"symbol": row.benchmark_symbol, "asset_class": row.benchmark_asset_class} if row.benchmark_symbol else None
    )
    return PortfolioOut(
        id=row.id,
        name=row.name,
        description=row.description,
        base_currency=row.base_currency,
        cost_method=Method(row.cost_method),
        benchmark=benchmark,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


def asset_out(row: Asset) -> dict[str, Any]:
    return AssetOut.model_validate(row, from_attributes=True).model_dump(mode="json")


async def _flush_unique(session: Session, message: str, field: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(message, field=field) from exc


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[PortfolioOut], responses=NAME_TAKEN)
async def create_portfolio(body: PortfolioCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    async with tracking.watching(session, user):
        row = Portfolio(
            id=uuid.uuid4(),
            user_id=user,
            name=body.name,
            description=body.description,
            base_currency=body.base_currency,
            cost_method=body.cost_method.value,
            benchmark_symbol=body.benchmark.symbol.upper() if body.benchmark else None,
            benchmark_asset_class=body.benchmark.asset_class.value if body.benchmark else None,
        )
        session.add(row)
        await _flush_unique(session, "You already have a portfolio with this name", "name")
    await session.refresh(row)
    return ok(portfolio_out(row))


@router.get("", response_model=PageEnvelope[PortfolioOut])
async def list_portfolios(user: CurrentUser, session: Session, page: PageParams = Depends()) -> dict[str, Any]:
    where = Portfolio.user_id == user
    total = await session.scalar(select(func.count()).select_from(Portfolio).where(where)) or 0
    rows = await session.scalars(
        select(Portfolio).where(where).order_by(Portfolio.name, Portfolio.id).offset(page.offset).limit(page.limit)
    )
    return paged([portfolio_out(r) for r in rows], page, total)


@router.get("/{portfolio_id}", response_model=Envelope[PortfolioOut], responses=NOT_FOUND)
async def get_portfolio(portfolio_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(portfolio_out(await store.portfolio(session, user, portfolio_id)))


@router.patch(
    "/{portfolio_id}",
    response_model=Envelope[PortfolioOut],
    responses={
        **NOT_FOUND,
        409: {"description": "The name is taken, or the recorded sells do not fit the new cost method"},
    },
)
async def update_portfolio(
    portfolio_id: uuid.UUID, body: PortfolioUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Partial update. A new cost method must fit every sell already recorded (specific needs named lots);
    the assets' states are rebuilt under it and every sell whose gains it changes is re-issued."""
    row = await store.portfolio(session, user, portfolio_id, lock=True)
    changes = body.changes()
    async with tracking.watching(session, user):
        for key in ("name", "description", "base_currency"):
            if key in changes:
                if changes[key] is None and key != "description":
                    raise Invalid(f"{key} cannot be null", field=key)
                setattr(row, key, changes[key])
        if changes.get("cost_method") is not None:
            method, previous = Method(changes["cost_method"]), Method(row.cost_method)
            histories = await store.histories(session, row.id)
            rebuilt = {}
            for asset_id, history in histories.items():
                try:
                    rebuilt[asset_id] = rebuild(history, method)
                except LotError as exc:
                    raise Conflict(
                        f"The recorded transactions do not fit {method.value}: {exc}", field="cost_method"
                    ) from exc
            row.cost_method = method.value
            for asset in await store.assets_of(session, row.id):
                if asset.id in rebuilt:
                    state, after = rebuilt[asset.id]
                    before = replay(histories[asset.id], previous).disposals
                    await events.revise_gains(session, row, asset, before, after, "cost_method_changed")
                    await state_store.save(session, row, asset.id, method, state)
        if "benchmark" in changes:
            bench = body.benchmark
            row.benchmark_symbol = bench.symbol.upper() if bench else None
            row.benchmark_asset_class = bench.asset_class.value if bench else None
        await _flush_unique(session, "You already have a portfolio with this name", "name")
    await session.refresh(row)
    return ok(portfolio_out(row))


@router.delete("/{portfolio_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_portfolio(portfolio_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Delete a portfolio with everything in it; its sells' realized gains are withdrawn (revised to none)."""
    row = await store.portfolio(session, user, portfolio_id, lock=True)
    histories = await store.histories(session, row.id)
    for asset in await store.assets_of(session, row.id):
        if histories.get(asset.id):
            before = replay(histories[asset.id], Method(row.cost_method)).disposals
            await events.revise_gains(session, row, asset, before, [], "portfolio_deleted")
    async with tracking.watching(session, user):
        await session.delete(row)


@router.post(
    "/{portfolio_id}/assets",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[AssetOut],
    responses={**NOT_FOUND, 409: {"description": "The portfolio already holds this symbol"}},
)
async def add_asset(portfolio_id: uuid.UUID, body: AssetCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    await store.portfolio(session, user, portfolio_id)
    async with tracking.watching(session, user):
        row = Asset(
            id=uuid.uuid4(),
            portfolio_id=portfolio_id,
            user_id=user,
            asset_type=body.asset_type.value,
            symbol=body.symbol.upper(),
            name=body.name,
            sector=body.sector,
            currency=body.currency,
            manual_price=body.manual_price,
        )
        session.add(row)
        await _flush_unique(session, "This portfolio already holds this symbol", "symbol")
        if body.manual_price is not None:
            session.add(ManualPrice(asset_id=row.id, day=today_utc(), price=body.manual_price))
    await session.refresh(row)
    return ok(asset_out(row))


@router.get("/{portfolio_id}/assets", response_model=PageEnvelope[AssetOut], responses=NOT_FOUND)
async def list_assets(
    portfolio_id: uuid.UUID, user: CurrentUser, session: Session, page: PageParams = Depends()
) -> dict[str, Any]:
    await store.portfolio(session, user, portfolio_id)
    where = Asset.portfolio_id == portfolio_id
    total = await session.scalar(select(func.count()).select_from(Asset).where(where)) or 0
    rows = await session.scalars(
        select(Asset).where(where).order_by(Asset.symbol, Asset.id).offset(page.offset).limit(page.limit)
    )
    return paged([asset_out(r) for r in rows], page, total)


@router.patch("/{portfolio_id}/assets/{asset_id}", response_model=Envelope[AssetOut], responses=NOT_FOUND)
async def update_asset(
    portfolio_id: uuid.UUID, asset_id: uuid.UUID, body: AssetUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Name and sector; for a custom asset, a new manual price (kept as today's price for history)."""
    row = await store.asset(session, user, portfolio_id, asset_id)
    changes = body.changes()
    for key in ("name", "sector"):
        if key in changes:
            setattr(row, key, changes[key])
    if changes.get("manual_price") is not None:
        if row.asset_type != "custom":
            raise Invalid("manual_price is for custom assets only", field="manual_price")
        row.manual_price = changes["manual_price"]
        await events.save_manual_price(session, row.id, today_utc(), changes["manual_price"])
    await session.flush()
    await session.refresh(row)
    return ok(asset_out(row))


@router.delete("/{portfolio_id}/assets/{asset_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_asset(portfolio_id: uuid.UUID, asset_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Removes the asset and its transactions; its sells' realized gains are withdrawn (revised to none)."""
    portfolio = await store.portfolio(session, user, portfolio_id, lock=True)
    row = await store.asset(session, user, portfolio_id, asset_id)
    history = (await store.histories(session, portfolio_id, asset_id)).get(asset_id, [])
    if history:
        before = replay(history, Method(portfolio.cost_method)).disposals
        await events.revise_gains(session, portfolio, row, before, [], "asset_deleted")
    async with tracking.watching(session, user):
        await session.delete(row)
