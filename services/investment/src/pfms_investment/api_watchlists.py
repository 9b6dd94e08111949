"""Watchlist and price alerts (above / below / % move), each alert firing once."""

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pfms_investment import market, store, tracking
from pfms_investment.models import DailyPrice, PriceAlert, WatchlistItem
from pfms_investment.schemas import AlertCreate, AlertOut, WatchCreate, WatchOut
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict
from pfms_platform.internal import InternalClient, UpstreamUnavailable
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/watchlists", tags=["watchlists"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such entry of the caller"}}


async def latest(session: Session, symbol: str, asset_class: str) -> DailyPrice | None:
    return await session.scalar(
        select(DailyPrice)
        .where(DailyPrice.symbol == symbol, DailyPrice.asset_class == asset_class)
        .order_by(DailyPrice.day.desc())
        .limit(1)
    )


async def current_price(session: Session, client: InternalClient, symbol: str, asset_class: str) -> DailyPrice | None:
    """The read model's latest price, or a quote from market-data when it has none yet."""
    found = await latest(session, symbol, asset_class)
    if found is None and await market.fetch_quote(session, client, symbol, asset_class):
        found = await latest(session, symbol, asset_class)
    return found


def watch_out(row: WatchlistItem, price: DailyPrice | None) -> dict[str, Any]:
    return WatchOut(
        id=row.id,
        symbol=row.symbol,
        asset_class=row.asset_class,
        note=row.note,
        price=price.price if price else None,
        currency=price.currency if price else None,
        as_of=price.as_of if price else None,
        created_at=row.created_at,
    ).model_dump(mode="json")


@router.get("", response_model=PageEnvelope[WatchOut])
async def list_watchlist(user: CurrentUser, session: Session, page: PageParams = Depends()) -> dict[str, Any]:
    """Watched symbols with their latest known price (from `price.updated`)."""
    where = WatchlistItem.user_id == user
    total = await session.scalar(select(func.count()).select_from(WatchlistItem).where(where)) or 0
    rows = list(
        await session.scalars(
            select(WatchlistItem)
            .where(where)
            .order_by(WatchlistItem.symbol, WatchlistItem.id)
            .offset(page.offset)
            .limit(page.limit)
        )
    )
    return paged([watch_out(r, await latest(session, r.symbol, r.asset_class)) for r in rows], page, total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[WatchOut],
    responses={409: {"description": "The symbol is already on the caller's watchlist"}},
)
async def watch(body: WatchCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    symbol = body.symbol.upper()
    async with tracking.watching(session, user):
        row = WatchlistItem(
            id=uuid.uuid4(), user_id=user, symbol=symbol, asset_class=body.asset_class.value, note=body.note
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict("This symbol is already on your watchlist", field="symbol") from exc
    await session.refresh(row)
    return ok(watch_out(row, await latest(session, symbol, row.asset_class)))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def unwatch(item_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    row = await store.owned(session, WatchlistItem, user, item_id, "Watchlist entry")
    async with tracking.watching(session, user):
        await session.delete(row)


def alert_out(row: PriceAlert) -> dict[str, Any]:
    return AlertOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.get("/alerts", response_model=PageEnvelope[AlertOut])
async def list_alerts(user: CurrentUser, session: Session, page: PageParams = Depends()) -> dict[str, Any]:
    where = PriceAlert.user_id == user
    total = await session.scalar(select(func.count()).select_from(PriceAlert).where(where)) or 0
    rows = await session.scalars(
        select(PriceAlert)
        .where(where)
        .order_by(PriceAlert.created_at.desc(), PriceAlert.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([alert_out(r) for r in rows], page, total)


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[AlertOut],
    responses={503: {"description": "A % move needs the current price and market-data has none"}},
)
async def create_alert(body: AlertCreate, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """An alert fires once, on the first `price.updated` that meets it. A % move is measured from the
    price when the alert is set, so that price must be known."""
    symbol, asset_class = body.symbol.upper(), body.asset_class.value
    price = await current_price(session, request.app.state.market, symbol, asset_class)
    if price is None and body.condition == "move_percent":
        raise UpstreamUnavailable(f"No current price for {symbol} to measure a move from", field="symbol")
    reference: Decimal | None = price.price if price and body.condition == "move_percent" else None
    async with tracking.watching(session, user):
        row = PriceAlert(
            id=uuid.uuid4(),
            user_id=user,
            symbol=symbol,
            asset_class=asset_class,
            condition=body.condition.value,
            threshold=body.threshold,
            reference_price=reference,
            currency=price.currency if price else "USD",
            status="active",
        )
        session.add(row)
    await session.refresh(row)
    return ok(alert_out(row))


@router.delete("/alerts/{alert_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_alert(alert_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    row = await store.owned(session, PriceAlert, user, alert_id, "Price alert")
    async with tracking.watching(session, user):
        await session.delete(row)
