"""Reads and writes of the asset states (`asset_states`), kept in step with the transactions.

Every write of a transaction saves the asset's new state in the same database transaction. Analytics
read the states of a portfolio in one query, straight off the driver, and parse the exact JSON state
only for assets in a currency other than the base (their amounts convert at each day's rate). An
asset with transactions but no state under the portfolio's cost method (rows older than the table)
is replayed and saved on the way.
"""

import uuid
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_investment import market, store
from pfms_investment.lots import Method
from pfms_investment.models import AssetStateRow, Portfolio
from pfms_investment.state import AssetState, from_dict, rebuild, to_dict
from pfms_investment.valuation import Holding, Series


async def load(session: AsyncSession, asset_id: uuid.UUID, method: Method) -> AssetState | None:
    """The stored state of an asset under `method`, if there is one."""
    detail = await session.scalar(
        select(AssetStateRow.detail).where(AssetStateRow.asset_id == asset_id, AssetStateRow.cost_method == method)
    )
    return None if detail is None else from_dict(detail)


async def save(
    session: AsyncSession, portfolio: Portfolio, asset_id: uuid.UUID, method: Method, state: AssetState
) -> None:
    holding = Holding.of(state)
    trade = state.last_trade
    values = {
        "asset_id": asset_id,
        "portfolio_id": portfolio.id,
        "user_id": portfolio.user_id,
        "cost_method": method.value,
        "quantity": holding.quantity,
        "cost": holding.cost,
        "realized": holding.realized,
        "cost_in": holding.cost_in,
        "last_trade_day": trade[0] if trade else None,
        "last_trade_price": trade[1] if trade else None,
        "money_days": [d for d, _, _, _ in holding.by_day],
        "money_realized": [r for _, r, _, _ in holding.by_day],
        "money_cost_in": [c for _, _, c, _ in holding.by_day],
        "money_open_cost": [o for _, _, _, o in holding.by_day],
        "days": holding.days.astype("<i4").tobytes(),
        "quantities": holding.quantities.astype("<f8").tobytes(),
        "prices": holding.prices.astype("<f8").tobytes(),
        "flows": holding.flows.astype("<f8").tobytes(),
        "detail": to_dict(state),
    }
    statement = insert(AssetStateRow).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["asset_id"],
            set_={k: statement.excluded[k] for k in values if k != "asset_id"} | {"updated_at": func.now()},
        )
    )


async def refresh(session: AsyncSession, portfolio: Portfolio, method: Method, asset_ids: list[uuid.UUID]) -> None:
    """Replay the assets' histories and save their states."""
    for asset_id in asset_ids:
        history = (await store.histories(session, portfolio.id, asset_id)).get(asset_id, [])
        state, _ = rebuild(history, method)
        await save(session, portfolio, asset_id, method, state)


async def holdings(session: AsyncSession, portfolio: Portfolio) -> dict[uuid.UUID, Holding]:
    """Every asset's state under the portfolio's cost method (assets without transactions have none)."""
    method = Method(portfolio.cost_method)
    driver = await store.driver(session)
    stale = await driver.fetch(
        "SELECT a.id FROM assets a WHERE a.portfolio_id = $1"
        " AND NOT EXISTS (SELECT 1 FROM asset_states s WHERE s.asset_id = a.id AND s.cost_method = $2)"
        " AND EXISTS (SELECT 1 FROM investment_transactions t WHERE t.asset_id = a.id)",
        portfolio.id,
        method.value,
    )
    if stale:
        await refresh(session, portfolio, method, [r["id"] for r in stale])
    # Numbers as text: parsing Decimal("…") is several times cheaper than the driver's binary numeric decoding.
    rows = await driver.fetch(
        "SELECT s.asset_id, s.quantity::text, s.cost::text, s.realized::text, s.cost_in::text, s.last_trade_day,"
        " s.last_trade_price::text, s.days, s.quantities, s.prices, s.flows, a.currency <> $2 AS foreign_currency,"
        " CASE WHEN a.currency <> $2 THEN s.money_days END AS money_days,"
        " CASE WHEN a.currency <> $2 THEN s.money_realized::text END AS money_realized,"
        " CASE WHEN a.currency <> $2 THEN s.money_cost_in::text END AS money_cost_in,"
        " CASE WHEN a.currency <> $2 THEN s.money_open_cost::text END AS money_open_cost"
        " FROM asset_states s JOIN assets a ON a.id = s.asset_id WHERE s.portfolio_id = $1 AND s.cost_method = $3",
        portfolio.id,
        portfolio.base_currency,
        method.value,
    )
    return {
        r["asset_id"]: Holding(
            quantity=Decimal(r["quantity"]),
            cost=Decimal(r["cost"]),
            realized=Decimal(r["realized"]),
            cost_in=Decimal(r["cost_in"]),
            last_trade=(r["last_trade_day"], Decimal(r["last_trade_price"])) if r["last_trade_day"] else None,
            days=np.frombuffer(r["days"], "<i4"),
            quantities=np.frombuffer(r["quantities"], "<f8"),
            prices=np.frombuffer(r["prices"], "<f8"),
            flows=np.frombuffer(r["flows"], "<f8"),
            by_day=list(
                zip(
                    r["money_days"],
                    decimals(r["money_realized"]),
                    decimals(r["money_cost_in"]),
                    decimals(r["money_open_cost"]),
                    strict=True,
                )
            )
            if r["foreign_currency"]
            else (),
        )
        for r in rows
    }


def decimals(array: str) -> list[Decimal]:
    """A numeric[] in PostgreSQL's text form ({1.5,-2}) as Decimals."""
    return [Decimal(x) for x in array[1:-1].split(",")] if array != "{}" else []


async def price_series(session: AsyncSession, keys: set[tuple[str, str]], today: date) -> dict[tuple[str, str], Series]:
    """Daily prices up to today of the given (symbol, market class) pairs, one packed row per symbol. A symbol
    with daily prices but no packed row (prices older than the table) is packed on the way."""
    if not keys:
        return {}
    out = await _packed(session, keys, today)
    if missing := keys - out.keys():
        await market.pack_prices(session, missing)
        out |= await _packed(session, missing, today)
    return out


async def _packed(session: AsyncSession, keys: set[tuple[str, str]], today: date) -> dict[tuple[str, str], Series]:
    driver = await store.driver(session)
    rows = await driver.fetch(
        "SELECT s.symbol, s.asset_class, s.days, s.prices, s.last_day, s.last_price::text FROM price_series s"
        " JOIN unnest($1::text[], $2::text[]) AS k(symbol, asset_class) USING (symbol, asset_class)",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    out: dict[tuple[str, str], Series] = {}
    for r in rows:
        days, prices = np.frombuffer(r["days"], ">i4"), np.frombuffer(r["prices"], ">f8")
        last: tuple[date, Decimal] | None = (r["last_day"], Decimal(r["last_price"]))
        if r["last_day"] > today:  # a price stamped after today's UTC date (a clock ahead): not yet
            keep = int(np.searchsorted(days, today.toordinal(), side="right"))
            days, prices = days[:keep], prices[:keep]
            found = await driver.fetchrow(
                "SELECT day, price FROM daily_prices WHERE symbol = $1 AND asset_class = $2 AND day <= $3"
                " ORDER BY day DESC LIMIT 1",
                r["symbol"],
                r["asset_class"],
                today,
            )
            last = (found["day"], found["price"]) if found else None
        out[(r["symbol"], r["asset_class"])] = Series(days, prices, last)
    return out
