"""Service-to-service routes under /internal/v1/market (service token; never routed by the gateway)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from pfms_market_data.api import From, To, market, quote_response, symbol_of
from pfms_market_data.domain import AssetClass, last_on_or_before, pair_symbol
from pfms_market_data.schemas import CloseOut, FxOut, QuoteOut
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.security import CallingService

router = APIRouter(prefix="/internal/v1/market", tags=["internal"])

Currency = Annotated[str, Query(pattern=r"^[A-Za-z]{3}$")]
FX_LOOKBACK = timedelta(days=14)


@router.get("/quotes/{symbol}", response_model=Envelope[QuoteOut])
async def quote(symbol: str, asset_class: AssetClass, request: Request, _: CallingService) -> JSONResponse:
    return await quote_response(request, symbol, asset_class)


@router.get("/history/{symbol}", response_model=Envelope[list[CloseOut]])
async def history(
    symbol: str, asset_class: AssetClass, request: Request, _: CallingService, start: From = None, end: To = None
) -> dict[str, Any]:
    if start is None or end is None:
        raise Invalid("'from' and 'to' are required", field="from" if start is None else "to")
    if start > end:
        raise Invalid("'from' must not be after 'to'", field="from")
    closes, _stale = await market(request).history(symbol_of(symbol, asset_class), asset_class, start, end)
    return ok(
        [
            CloseOut(date=c.day, close=c.close, currency=c.currency).model_dump(mode="json")
            for c in closes
            if start <= c.day <= end
        ]
    )


@router.get("/fx", response_model=Envelope[FxOut])
async def fx(
    base: Currency, quote: Currency, on: Annotated[date, Query(alias="date")], request: Request, _: CallingService
) -> dict[str, Any]:
    """The reference rate on `date`, or on the last business day before it."""
    base, quote = base.upper(), quote.upper()
    if base == quote:
        return ok(FxOut(base=base, quote=quote, date=on, rate=Decimal(1), source="identity").model_dump(mode="json"))
    m = market(request)
    closes, _stale = await m.history(pair_symbol(base, quote), AssetClass.forex, on - FX_LOOKBACK, on)
    found = last_on_or_before(closes, on)
    if found is None:
        raise NotFound(f"No {base}-{quote} rate on or before {on.isoformat()}", field="date")
    source = m.providers[AssetClass.forex].source(AssetClass.forex)
    body = FxOut(base=base, quote=quote, date=found.day, rate=found.close, source=source)
    return ok(body.model_dump(mode="json"))
