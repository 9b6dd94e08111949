"""Public routes under /api/v1/market (any signed-in user; market data belongs to nobody)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from pfms_market_data.domain import (
    AssetClass,
    Interval,
    default_window,
    normalise_symbol,
    pair_symbol,
    parse_pair,
    sample,
)
from pfms_market_data.market import Market
from pfms_market_data.schemas import CloseOut, HistoryOut, MatchOut, QuoteOut
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import Invalid
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/market", tags=["market"])

Symbol = Annotated[str, Path(min_length=1, max_length=24)]
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]


def market(request: Request) -> Market:
    m: Market = request.app.state.market
    return m


def symbol_of(raw: str, cls: AssetClass) -> str:
    try:
        if cls is AssetClass.forex:
            return pair_symbol(*parse_pair(raw))
        return normalise_symbol(raw)
    except ValueError as exc:
        raise Invalid(str(exc), field="pair" if cls is AssetClass.forex else "symbol") from exc


async def quote_response(request: Request, raw: str, cls: AssetClass) -> JSONResponse:
    """The hot path: the body is built from the cached quote and sent as is, without a second
    validation against the response model (the benchmark's route; the model still documents it)."""
    served = await market(request).quote(symbol_of(raw, cls), cls)
    return JSONResponse(ok(served.body()))


async def _history(
    request: Request, raw: str, cls: AssetClass, start: date | None, end: date | None, interval: Interval
) -> dict[str, Any]:
    symbol = symbol_of(raw, cls)
    end = end or datetime.now(UTC).date()
    start = start or default_window(end, interval)[0]
    if start > end:
        raise Invalid("'from' must not be after 'to'", field="from")
    if (end - start).days > 366 * 30:
        raise Invalid("at most 30 years per request", field="from")
    m = market(request)
    closes, stale = await m.history(symbol, cls, start, end)
    closes = sample([c for c in closes if start <= c.day <= end], interval)
    body = HistoryOut(
        symbol=symbol,
        asset_class=cls.value,
        interval=interval.value,
        source=m.providers[cls].source(cls),
        stale=stale,
        closes=[CloseOut(date=c.day, close=c.close, currency=c.currency) for c in closes],
    )
    return ok(body.model_dump(mode="json"))


@router.get("/stocks/{symbol}", response_model=Envelope[QuoteOut])
async def stock(symbol: Symbol, request: Request, _: CurrentUser) -> JSONResponse:
    return await quote_response(request, symbol, AssetClass.stock)


@router.get("/crypto/{symbol}", response_model=Envelope[QuoteOut])
async def crypto(symbol: Symbol, request: Request, _: CurrentUser) -> JSONResponse:
    return await quote_response(request, symbol, AssetClass.crypto)


@router.get("/forex/{pair}", response_model=Envelope[QuoteOut])
async def forex(pair: Symbol, request: Request, _: CurrentUser) -> JSONResponse:
    return await quote_response(request, pair, AssetClass.forex)


@router.get("/stocks/{symbol}/history", response_model=Envelope[HistoryOut])
async def stock_history(
    symbol: Symbol,
    request: Request,
    _: CurrentUser,
    start: From = None,
    end: To = None,
    interval: Interval = Interval.day,
) -> dict[str, Any]:
    return await _history(request, symbol, AssetClass.stock, start, end, interval)


@router.get("/crypto/{symbol}/history", response_model=Envelope[HistoryOut])
async def crypto_history(
    symbol: Symbol,
    request: Request,
    _: CurrentUser,
    start: From = None,
    end: To = None,
    interval: Interval = Interval.day,
) -> dict[str, Any]:
    return await _history(request, symbol, AssetClass.crypto, start, end, interval)


@router.get("/forex/{pair}/history", response_model=Envelope[HistoryOut])
async def forex_history(
    pair: Symbol,
    request: Request,
    _: CurrentUser,
    start: From = None,
    end: To = None,
    interval: Interval = Interval.day,
) -> dict[str, Any]:
    return await _history(request, pair, AssetClass.forex, start, end, interval)


@router.get("/search", response_model=Envelope[list[MatchOut]])
async def search(
    request: Request, _: CurrentUser, q: Annotated[str, Query(min_length=1, max_length=50)]
) -> dict[str, Any]:
    matches = await market(request).search(q)
    return ok([MatchOut(symbol=m.symbol, name=m.name, asset_class=m.asset_class.value).model_dump() for m in matches])
