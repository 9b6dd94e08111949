"""Events the investment service publishes, and the handlers of those it consumes.

`price.updated` revalues holdings (the latest-price read model) and fires price alerts, each once:
the alert row flips from active to triggered in the same transaction as its notification event,
guarded by `status = 'active'`, so a redelivered or concurrent update can never fire it twice.
"""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserDeleted
from pfms_contracts.investment import InvestmentTransaction as TransactionEvent
from pfms_contracts.investment import PriceAlertTriggered, RealizedGain
from pfms_contracts.market import PriceUpdated
from pfms_investment import alerts, market, store
from pfms_investment.lots import Disposal
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


async def save_manual_price(session: AsyncSession, asset_id: uuid.UUID, day: date, price: Decimal) -> None:
    statement = insert(ManualPrice).values(asset_id=asset_id, day=day, price=price)
    await session.execute(statement.on_conflict_do_update(index_elements=["asset_id", "day"], set_={"price": price}))


async def on_price_updated(session: AsyncSession, data: PriceUpdated) -> None:
    """Keep the day's latest price, then fire the alerts on that symbol that the price crosses."""
    symbol, asset_class = data.symbol.upper(), market_class_of(data.asset_class)
    await market.save_price(session, symbol, asset_class, data.price, data.currency, data.as_of, data.source)
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
