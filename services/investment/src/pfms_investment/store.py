"""Reads and writes of the investment tables; every lookup is scoped to its owner (404 otherwise)."""

import json
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_investment.analytics import AssetMeta
from pfms_investment.lots import Kind, Txn
from pfms_investment.models import (
    Asset,
    AssetStateRow,
    InvestmentTransaction,
    ManualPrice,
    Portfolio,
    PortfolioSnapshot,
    PriceAlert,
    WatchlistItem,
)
from pfms_platform.errors import NotFound


async def portfolio(
    session: AsyncSession, user: uuid.UUID, portfolio_id: uuid.UUID, *, lock: bool = False
) -> Portfolio:
    query = select(Portfolio).where(Portfolio.id == portfolio_id, Portfolio.user_id == user)
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound("Portfolio not found")
    return row


async def asset(session: AsyncSession, user: uuid.UUID, portfolio_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
    row = await session.scalar(
        select(Asset).where(Asset.id == asset_id, Asset.portfolio_id == portfolio_id, Asset.user_id == user)
    )
    if row is None:
        raise NotFound("Asset not found", field="asset_id")
    return row


async def owned(session: AsyncSession, model: Any, user: uuid.UUID, row_id: uuid.UUID, what: str) -> Any:
    """A watchlist entry or alert of the caller; anyone else's is a 404."""
    row = await session.scalar(select(model).where(model.id == row_id, model.user_id == user))
    if row is None:
        raise NotFound(f"{what} not found")
    return row


async def driver(session: AsyncSession) -> asyncpg.Connection:
    raw = await (await session.connection()).get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


def txn_of(row: Any) -> Txn:
    picks = (
        tuple((uuid.UUID(p["lot_id"]), Decimal(p["quantity"])) for p in json.loads(row["lots"]))
        if row["lots"] != "[]"
        else ()
    )
    return Txn(
        row["id"],
        Kind(row["transaction_type"]),
        row["trade_date"],
        row["quantity"],
        row["price"],
        row["fees"],
        row["tax"],
        row["amount"],
        picks,
    )


async def histories(
    session: AsyncSession, portfolio_id: uuid.UUID, asset_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[Txn]]:
    """Each asset's transactions in replay order (date, then recording order), straight off the driver:
    the analytics path reads tens of thousands of rows and an ORM object per row would cost more than the maths."""
    sql = (
        "SELECT id, asset_id, transaction_type, trade_date, quantity, price, fees, tax, amount, lots::text AS lots "
        "FROM investment_transactions WHERE portfolio_id = $1"
    )
    args: list[Any] = [portfolio_id]
    if asset_id is not None:
        sql += " AND asset_id = $2"
        args.append(asset_id)
    rows = await (await driver(session)).fetch(sql + " ORDER BY trade_date, seq", *args)
    out: dict[uuid.UUID, list[Txn]] = defaultdict(list)
    for row in rows:
        out[row["asset_id"]].append(txn_of(row))
    return out


async def assets_of(session: AsyncSession, portfolio_id: uuid.UUID) -> list[Asset]:
    return list(await session.scalars(select(Asset).where(Asset.portfolio_id == portfolio_id).order_by(Asset.symbol)))


async def asset_metas(session: AsyncSession, portfolio_id: uuid.UUID) -> list[AssetMeta]:
    """The portfolio's assets as analytics describe them, by symbol (straight off the driver)."""
    rows = await (await driver(session)).fetch(
        "SELECT id, symbol, name, asset_type, sector, currency FROM assets WHERE portfolio_id = $1 ORDER BY symbol",
        portfolio_id,
    )
    return [AssetMeta(r["id"], r["symbol"], r["name"], r["asset_type"], r["sector"], r["currency"]) for r in rows]


async def prices_on(
    session: AsyncSession, key: tuple[str, str], days: list[date]
) -> tuple[date | None, list[tuple[date, Decimal]]]:
    """A symbol's first price day, and its last price on or before each of `days` (as (its day, price),
    oldest first): all the benchmark comparison needs, without reading its whole history."""
    conn = await driver(session)
    first = await conn.fetchval(
        "SELECT min(day) FROM daily_prices WHERE symbol = $1 AND asset_class = $2", key[0], key[1]
    )
    rows = await conn.fetch(
        "SELECT DISTINCT p.day, p.price FROM unnest($3::date[]) AS d(day) CROSS JOIN LATERAL"
        " (SELECT day, price FROM daily_prices WHERE symbol = $1 AND asset_class = $2 AND day <= d.day"
        " ORDER BY day DESC LIMIT 1) AS p ORDER BY p.day",
        key[0],
        key[1],
        days,
    )
    return first, [(r["day"], r["price"]) for r in rows]


async def manual_prices(
    session: AsyncSession, asset_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[date, Decimal]]]:
    out: dict[uuid.UUID, list[tuple[date, Decimal]]] = defaultdict(list)
    if asset_ids:
        rows = await session.execute(
            select(ManualPrice.asset_id, ManualPrice.day, ManualPrice.price)
            .where(ManualPrice.asset_id.in_(asset_ids))
            .order_by(ManualPrice.day)
        )
        for asset_id, day, price in rows:
            out[asset_id].append((day, price))
    return out


async def fx_rates(
    session: AsyncSession, base: str, currencies: set[str]
) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """Cached rates into `base` of the currencies, for `FxTable.packed`: one row per currency, day ordinals
    and float rates as big-endian arrays and the exact rates as text, oldest first."""
    rates: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
    if currencies:
        rows = await (await driver(session)).fetch(
            "SELECT base, string_agg(int4send(day - DATE '0001-01-01' + 1), '' ORDER BY day) AS days,"
            " string_agg(float8send(rate::float8), '' ORDER BY day) AS floats,"
            " array_to_string(array_agg(rate ORDER BY day), ',') AS exact"
            " FROM cached_fx_rates WHERE quote = $1 AND base = ANY($2::text[]) GROUP BY base",
            base,
            sorted(currencies),
        )
        for row in rows:
            days, floats = np.frombuffer(row["days"], ">i4"), np.frombuffer(row["floats"], ">f8")
            rates[row["base"]] = (days, floats, row["exact"].split(","))
    return rates


async def purge(session: AsyncSession, user: uuid.UUID) -> None:
    """Every row of the user (transactions, assets, prices and snapshots go with their portfolios)."""
    for model in (
        PriceAlert,
        WatchlistItem,
        PortfolioSnapshot,
        AssetStateRow,
        InvestmentTransaction,
        Asset,
        Portfolio,
    ):
        await session.execute(delete(model).where(model.user_id == user))
