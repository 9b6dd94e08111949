"""The recurring-expense scheduler: a background loop in every instance of the service.

Each pass claims due schedules with `SELECT … FOR UPDATE SKIP LOCKED`, so two instances never work
on the same schedule at once, and materialises every occurrence from `next_due_date` up to today —
after downtime that is a catch-up of every missed occurrence. The unique key on
(recurring_expense_id, occurrence_date) makes a second materialisation impossible even if a claim
were ever lost. A second query sends the `expense.recurring_due` reminders, once per due date.
"""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import RecurringExpenseDue
from pfms_expense import conversion, payloads, schedules, spending
from pfms_expense.models import Category, Expense, ImportBatch, ImportStatus, RecurringExpense, Source
from pfms_finance.recurrence import Frequency
from pfms_platform.db import Database
from pfms_platform.events.outbox import emit, emit_many
from pfms_platform.internal import InternalClient
from pfms_platform.logging import get_logger
from pfms_platform.metrics import EXPENSES_CREATED

log = get_logger(__name__)

CLAIM = 50


def today_utc() -> date:
    return datetime.now(UTC).date()


async def materialise(session: AsyncSession, row: RecurringExpense, today: date) -> int:
    """Expenses for the schedule's due occurrences; advances `next_due_date` past today."""
    frequency = Frequency(row.frequency)
    due = schedules.due(row.start_date, frequency, row.next_due_date, today, row.end_date)
    category = await session.get(Category, row.category_id) if row.category_id else None
    made: list[Expense] = []
    for day in due:
        values = {
            "id": uuid.uuid4(),
            "user_id": row.user_id,
            "space_id": row.space_id,
            "amount": schedules.amount_on(row.amount, row.inflation_rate, row.start_date, day, row.currency),
            "currency": row.currency,
            "category_id": row.category_id,
            "description": row.name,
            "expense_date": day,
            "payment_method": row.payment_method,
            "account_id": row.account_id,
            "tags": list(row.tags),
            "source": Source.RECURRING.value,
            "recurring_expense_id": row.id,
            "occurrence_date": day,
        }
        inserted = await session.scalar(
            insert(Expense)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=[Expense.recurring_expense_id, Expense.occurrence_date],
                index_where=Expense.recurring_expense_id.is_not(None),
            )
            .returning(Expense.id)
        )
        if inserted is not None:
            made.append(Expense(**values))
    if due:
        row.last_paid_date = due[-1]
    row.next_due_date = schedules.following(row.start_date, frequency, today, row.end_date)
    await session.flush()
    await emit_many(session, [payloads.created(e, category.name if category else None) for e in made])
    EXPENSES_CREATED.labels("expense", "recurring").inc(len(made))
    await emit(session, payloads.schedule_changed(row))
    touched = {(e.expense_date, e.category_id, e.currency) for e in made}
    await spending.evaluate(session, row.user_id, touched, row.space_id)
    return len(made)


async def materialise_due(db: Database, today: date) -> int:
    """Claim and materialise due schedules, a batch per transaction, until none is left."""
    total = 0
    while True:
        async with db.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(RecurringExpense)
                    .where(RecurringExpense.is_active, RecurringExpense.next_due_date <= today)
                    .order_by(RecurringExpense.next_due_date, RecurringExpense.id)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                total += await materialise(session, row, today)
        if len(rows) < CLAIM:
            return total


async def send_reminders(db: Database, today: date) -> int:
    """`expense.recurring_due` once per due date, `reminder_days` before it."""
    sent = 0
    while True:
        async with db.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(RecurringExpense)
                    .where(
                        RecurringExpense.is_active,
                        RecurringExpense.reminder_days > 0,
                        RecurringExpense.next_due_date > today,
                        RecurringExpense.next_due_date - RecurringExpense.reminder_days <= today,
                        RecurringExpense.reminded_for.is_distinct_from(RecurringExpense.next_due_date),
                    )
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                if not schedules.remind(row.next_due_date, row.reminder_days, today, row.reminded_for):
                    continue
                assert row.next_due_date is not None
                await emit(
                    session,
                    RecurringExpenseDue(
                        user_id=row.user_id,
                        recurring_expense_id=row.id,
                        due_date=row.next_due_date,
                        amount=schedules.amount_on(
                            row.amount, row.inflation_rate, row.start_date, row.next_due_date, row.currency
                        ),
                        currency=row.currency,
                        description=row.name,
                        reminder_days=row.reminder_days,
                    ),
                )
                row.reminded_for = row.next_due_date
                sent += 1
        if len(rows) < CLAIM:
            return sent


async def fail_stale_imports(db: Database, stale_seconds: float) -> None:
    """A job whose instance died rolled back its transaction: say so instead of 'processing' forever."""
    cutoff = datetime.now(UTC) - timedelta(seconds=stale_seconds)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(ImportBatch)
            .where(
                ImportBatch.status.in_([ImportStatus.PENDING.value, ImportStatus.PROCESSING.value]),
                ImportBatch.updated_at < cutoff,
            )
            .values(status=ImportStatus.FAILED.value, message="The import was interrupted; nothing was imported")
        )


async def tick(db: Database, fx: InternalClient, today: date, stale_seconds: float, fx_users: int) -> None:
    made = await materialise_due(db, today)
    reminded = await send_reminders(db, today)
    await fail_stale_imports(db, stale_seconds)
    # What was just materialised, and whatever market-data could not convert earlier.
    converted = await conversion.convert_pending(db, fx, fx_users)
    if made or reminded or converted:
        log.info("scheduler pass", materialised=made, reminders=reminded, users_converted=converted)


async def run(app: FastAPI) -> None:
    """The background loop; one failed pass is logged and the next one tries again."""
    settings = app.state.settings
    await app.state.bus.wait_connected()
    while True:
        try:
            await tick(app.state.db, app.state.fx, today_utc(), settings.import_stale_seconds, settings.fx_job_users)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("scheduler pass failed", error=str(exc)[:300])
        await asyncio.sleep(settings.scheduler_interval_seconds)
