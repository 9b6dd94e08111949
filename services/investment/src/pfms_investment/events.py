"""Events the investment service publishes, and the handlers of those it consumes.

A sell's realized gains go out once as `investment.realized_gain` (one per lot, revision 0). When a
later write changes them (a transaction inserted, edited or deleted before the sell, a new cost method,
the sell edited, or the sell, its asset or its portfolio deleted), `investment.realized_gain_revised` carries the sell's
complete new set of lots with the sell's next revision number, so a consumer replaces what it holds.

`price.updated` revalues holdings (the latest-price read model) and fires price alerts, each once:
the alert row flips from active to triggered in the same transaction as its notification event,
guarded by `status = 'active'`, so a redelivered or concurrent update can never fire it twice.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserDeleted
from pfms_contracts.investment import InvestmentTransaction as TransactionEvent
from pfms_contracts.investment import PriceAlertTriggered, RealizedGain, RealizedGainLot, RealizedGainRevised
from pfms_contracts.market import PriceUpdated
from pfms_investment import alerts, market, store
from pfms_investment.lots import ZERO, Disposal
from pfms_investment.models import Asset, InvestmentTransaction, ManualPrice, Portfolio, PriceAlert
from pfms_platform.events.consumer import Handler
from pfms_platform.events.outbox import emit
from pfms_platform.logging import get_logger

log = get_logger(__name__)

CLASSES = {"crypto": "crypto", "forex": "forex"}


def market_class_of(asset_class: str) -> str:
    """price.updated may say etf, fund or bond: investment prices those as market-data's `stock` class."""
    return CLASSES.get(asset_class, "stock")


async def transaction_recorded(
    session: AsyncSession, portfolio: Portfolio, asset: Asset, row: InvestmentTransaction, disposals: list[Disposal]
) -> None:
    """`investment.transaction`, and one `investment.realized_gain` per lot a sell disposed of."""
    await emit(
        session,
        TransactionEvent(
            user_id=row.user_id,
            portfolio_id=portfolio.id,
            asset_id=asset.id,
            transaction_id=row.id,
            symbol=asset.symbol,
            asset_type=asset.asset_type,
            transaction_type=row.transaction_type,
            quantity=row.quantity,
            price=row.price,
            amount=row.amount if row.transaction_type in ("dividend", "fee") else row.quantity * row.price,
            fees=row.fees,
            tax=row.tax,
            currency=asset.currency,
            transaction_date=row.trade_date,
        ),
    )
    for d in disposals:
        await emit(
            session,
            RealizedGain(
                user_id=row.user_id,
                portfolio_id=portfolio.id,
                asset_id=asset.id,
                transaction_id=row.id,
                lot_id=d.lot_id,
                symbol=asset.symbol,
                asset_type=asset.asset_type,
                quantity=d.quantity,
                acquisition_date=d.acquired,
                disposal_date=d.disposed,
                proceeds=d.proceeds,
                cost=d.cost,
                gain=d.gain,
                currency=asset.currency,
                cost_method=portfolio.cost_method,
            ),
        )


Reason = Literal[
    "backdated_transaction",
    "transaction_edited",
    "transaction_deleted",
    "cost_method_changed",
    "asset_deleted",
    "portfolio_deleted",
]


def by_sell(disposals: Iterable[Disposal]) -> dict[uuid.UUID, list[Disposal]]:
    grouped: dict[uuid.UUID, list[Disposal]] = defaultdict(list)
    for d in disposals:
        grouped[d.txn_id].append(d)
    return grouped


def changed_sells(
    before: Iterable[Disposal], after: Iterable[Disposal], skip: Iterable[uuid.UUID] = ()
) -> dict[uuid.UUID, list[Disposal]]:
    """The sells whose disposals differ between two replays of an asset, with their new disposals
    (none for a sell that is gone). `skip`: sells published for the first time by the same write."""
    old, new = by_sell(before), by_sell(after)
    ignored = set(skip)
    return {t: new.get(t, []) for t in old.keys() | new.keys() if t not in ignored and old.get(t) != new.get(t)}


async def revise_gains(
    session: AsyncSession,
    portfolio: Portfolio,
    asset: Asset,
    before: Iterable[Disposal],
    after: Iterable[Disposal],
    reason: Reason,
    *,
    skip: Iterable[uuid.UUID] = (),
) -> None:
    """`investment.realized_gain_revised` for every sell of `asset` whose gains the write changed, each
    with the sell's next revision (counted on its row, in the same transaction)."""
    changed = changed_sells(before, after, skip)
    if not changed:
        return
    rows = await session.execute(
        update(InvestmentTransaction)
        .where(InvestmentTransaction.id.in_(list(changed)))
        .values(gain_revision=InvestmentTransaction.gain_revision + 1)
        .returning(InvestmentTransaction.id, InvestmentTransaction.gain_revision, InvestmentTransaction.trade_date)
        .execution_options(synchronize_session=False)
    )
    for txn_id, revision, disposed in sorted(rows, key=lambda r: (r[2], r[0])):
        lots = changed[txn_id]
        await emit(
            session,
            RealizedGainRevised(
                user_id=portfolio.user_id,
                portfolio_id=portfolio.id,
                asset_id=asset.id,
                transaction_id=txn_id,
                revision=revision,
                reason=reason,
                symbol=asset.symbol,
                asset_type=asset.asset_type,
                disposal_date=disposed,
                currency=asset.currency,
                cost_method=portfolio.cost_method,
                lots=[
                    RealizedGainLot(
                        lot_id=d.lot_id,
                        quantity=d.quantity,
                        acquisition_date=d.acquired,
                        proceeds=d.proceeds,
                        cost=d.cost,
                        gain=d.gain,
                    )
                    for d in lots
                ],
                proceeds=sum((d.proceeds for d in lots), ZERO),
                cost=sum((d.cost for d in lots), ZERO),
                gain=sum((d.gain for d in lots), ZERO),
            ),
        )
    log.info("realized gains revised", asset_id=str(asset.id), sells=len(changed), reason=reason)


async def save_manual_price(session: AsyncSession, asset_id: uuid.UUID, day: date, price: Decimal) -> None:
    statement = insert(ManualPrice).values(asset_id=asset_id, day=day, price=price)
    await session.execute(statement.on_conflict_do_update(index_elements=["asset_id", "day"], set_={"price": price}))


async def on_price_updated(session: AsyncSession, data: PriceUpdated) -> None:
    """Keep the day's latest price, then fire the alerts on that symbol that the price crosses."""
    symbol, asset_class = data.symbol.upper(), market_class_of(data.asset_class)
    await market.save_price(session, symbol, asset_class, data.price, data.currency, data.as_of, data.source)
    await market.pack_prices(session, {(symbol, asset_class)})
    candidates = await session.scalars(
        select(PriceAlert).where(
            PriceAlert.symbol == symbol, PriceAlert.asset_class == asset_class, PriceAlert.status == "active"
        )
    )
    for alert in candidates:
        if not alerts.fires(alert.condition, alert.threshold, alert.reference_price, data.price):
            continue
        flipped = await session.scalar(
            update(PriceAlert)
            .where(PriceAlert.id == alert.id, PriceAlert.status == "active")
            .values(status="triggered", triggered_price=data.price, triggered_at=datetime.now(UTC))
            .returning(PriceAlert.id)
        )
        if flipped is None:
            continue
        await emit(
            session,
            PriceAlertTriggered(
                user_id=alert.user_id,
                alert_id=alert.id,
                symbol=symbol,
                asset_class=asset_class,
                condition=alert.condition,
                threshold=alert.threshold,
                reference_price=alert.reference_price,
                price=data.price,
                currency=data.currency,
            ),
        )
        log.info("price alert fired", alert_id=str(alert.id), symbol=symbol)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await store.purge(session, data.user_id)
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    PriceUpdated.type: on_price_updated,
    UserDeleted.type: on_user_deleted,
}
