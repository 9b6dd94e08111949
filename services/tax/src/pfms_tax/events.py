"""Events the tax service consumes: income and realized gains feed its read model, expenses in a
deductible category become deduction suggestions, and `user.deleted` purges the user.

The service never reads another service's database: it keeps its own copy of what a calculation
needs. Handlers are idempotent (upserts keyed by the producer's ids, a tombstone for a deleted
income, the newest revision per sell) and bump the user's input version in the same transaction,
which retires any cached calculation.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeDeleted, IncomeReceived, IncomeUpdated
from pfms_contracts.investment import RealizedGain, RealizedGainLot, RealizedGainRevised
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_tax import store

log = get_logger(__name__)


def _income(data: IncomeReceived) -> dict[str, object]:
    return {
        "source_type": data.source_type,
        "amount": data.amount,
        "tax_deducted": data.tax_deducted,
        "currency": data.currency.upper(),
        "received_date": data.received_date,
    }


async def on_income_received(session: AsyncSession, data: IncomeReceived) -> None:
    await store.first_income(session, data.user_id, data.income_id, _income(data))


async def on_income_updated(session: AsyncSession, data: IncomeUpdated) -> None:
    await store.record_income(session, data.user_id, data.income_id, _income(data))


async def on_income_deleted(session: AsyncSession, data: IncomeDeleted) -> None:
    """The last state is kept as a tombstone, so a late `income.received` cannot bring it back."""
    values = {
        "source_type": data.source_type,
        "amount": data.net_amount,
        "tax_deducted": 0,
        "currency": data.currency.upper(),
        "received_date": data.received_date,
    }
    await store.forget_income(session, data.user_id, data.income_id, values)


def _lot(data: RealizedGain | RealizedGainRevised, lot: RealizedGain | RealizedGainLot) -> dict[str, object]:
    return {
        "lot_id": lot.lot_id,
        "symbol": data.symbol,
        "quantity": lot.quantity,
        "acquisition_date": lot.acquisition_date,
        "disposal_date": data.disposal_date,
        "proceeds": lot.proceeds,
        "cost": lot.cost,
        "gain": lot.gain,
        "currency": data.currency.upper(),
    }


async def on_realized_gain(session: AsyncSession, data: RealizedGain) -> None:
    """One lot of a sell, as first recorded (revision 0)."""
    await store.replace_sale(session, data.user_id, data.transaction_id, data.revision, [_lot(data, data)])


async def on_realized_gain_revised(session: AsyncSession, data: RealizedGainRevised) -> None:
    """`lots` replaces every figure held for the sell; an empty list means the sell no longer counts."""
    lots = [_lot(data, lot) for lot in data.lots]
    if not await store.replace_sale(session, data.user_id, data.transaction_id, data.revision, lots):
        log.info("older realized gain revision ignored", transaction_id=str(data.transaction_id))


async def on_expense_saved(session: AsyncSession, data: ExpenseCreated | ExpenseUpdated) -> None:
    """An expense in a category the user marked deductible becomes (or stays) a pending suggestion."""
    mapping = await store.deductible_category(session, data.user_id, data.category_id, data.category_name)
    if mapping is None:
        if isinstance(data, ExpenseUpdated):
            await store.withdraw_suggestion(session, data.user_id, data.expense_id)
        return
    await store.suggest(
        session,
        data.user_id,
        {
            "expense_id": data.expense_id,
            "deduction_category": mapping.deduction_category,
            "amount": data.amount,
            "currency": data.currency.upper(),
            "expense_date": data.expense_date,
            "description": data.description,
        },
    )


async def on_expense_deleted(session: AsyncSession, data: ExpenseDeleted) -> None:
    await store.withdraw_suggestion(session, data.user_id, data.expense_id)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await store.purge(session, data.user_id)
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    IncomeReceived.type: on_income_received,
    IncomeUpdated.type: on_income_updated,
    IncomeDeleted.type: on_income_deleted,
    RealizedGain.type: on_realized_gain,
    RealizedGainRevised.type: on_realized_gain_revised,
    ExpenseCreated.type: on_expense_saved,
    ExpenseUpdated.type: on_expense_saved,
    ExpenseDeleted.type: on_expense_deleted,
    UserDeleted.type: on_user_deleted,
}
