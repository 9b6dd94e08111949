"""Daily prices packed per symbol for analytics: kept with every price written, built for older rows."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest
from sqlalchemy import select, text

from pfms_investment.models import PriceSeries

pytestmark = pytest.mark.integration

P = "/api/v1/portfolios"


async def packed(env, symbol: str) -> PriceSeries | None:
    async with env.svc.db.sessions() as session:
        return await session.scalar(select(PriceSeries).where(PriceSeries.symbol == symbol))


async def test_prices_are_packed_when_written_and_when_found_unpacked(env) -> None:
    ann = env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "NVDA")
    await env.trade(ann, p["id"], a["id"], "buy", "2024-01-02", quantity="10", price="100")
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    async with env.svc.db.sessions() as session, session.begin():
        for day, price in ((yesterday, 110), (tomorrow, 500)):  # tomorrow: a clock ahead of ours
            await session.execute(
                text(
                    "INSERT INTO daily_prices (symbol, asset_class, day, price, currency, as_of, source)"
                    " VALUES ('NVDA', 'stock', :day, :price, 'USD', now(), 'test')"
                ),
                {"day": day, "price": price},
            )
    assert await packed(env, "NVDA") is None

    data = (await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)).json()["data"]
    assert D(data["current_value"]) == D(1100)  # 10 x yesterday's 110; tomorrow's price is not yet
    row = await packed(env, "NVDA")
    assert row is not None
    assert np.frombuffer(row.days, ">i4").tolist() == [yesterday.toordinal(), tomorrow.toordinal()]
    assert np.frombuffer(row.prices, ">f8").tolist() == [110.0, 500.0]
    assert (row.first_day, row.last_day, row.last_price) == (yesterday, tomorrow, D(500))

    await env.price("NVDA", "120.5")

    async def repacked() -> bool:
        row = await packed(env, "NVDA")
        return row is not None and np.frombuffer(row.days, ">i4").tolist() == [
            yesterday.toordinal(),
            today.toordinal(),
            tomorrow.toordinal(),
        ]

    await env.until(repacked)
    data = (await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)).json()["data"]
    assert D(data["current_value"]) == D(1205)
