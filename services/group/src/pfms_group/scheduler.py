"""The recurring group-expense scheduler: a background loop in every instance of the service.

Each pass claims due schedules with `SELECT … FOR UPDATE SKIP LOCKED`, so two instances never work
on the same schedule at once, and materialises every occurrence from `next_date` up to today (a
catch-up after downtime). The unique key on (recurring_id, occurrence_date) makes a second copy of
an occurrence impossible even if a claim were ever lost.
"""

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.recurrence import Frequency, next_occurrence, occurrences
from pfms_group import access, feed, fx, ledger
from pfms_group.models import FinanceGroup, RecurringGroupExpense
from pfms_group.splits import Participant, SplitType
from pfms_platform.db import Database
from pfms_platform.errors import AppError
from pfms_platform.internal import InternalClient, UpstreamUnavailable
from pfms_platform.logging import get_logger

log = get_logger(__name__)

CLAIM = 50


def today_utc() -> date:
    return datetime.now(UTC).date()


def draft_on(row: RecurringGroupExpense, day: date) -> ledger.Draft:
    return ledger.Draft(
        description=row.description,
        category=row.category,
        expense_date=day,
        amount=row.amount,
        currency=row.currency,
        split_type=SplitType(row.split_type),
        participants=[
            Participant(
                uuid.UUID(p["user_id"]),
                *(Decimal(p[k]) if p.get(k) is not None else None for k in ("amount", "percentage", "weight")),
            )
            for p in row.participants
        ],
        payers={uuid.UUID(p["user_id"]): Decimal(p["amount"]) for p in row.payers},
    )


async def materialise(session: AsyncSession, market: InternalClient, row: RecurringGroupExpense, today: date) -> int:
    """Expenses for the schedule's due occurrences; advances `next_date` past today.

    A schedule that no longer fits the group (a participant left, no rate for its currency) is
    paused and the group told so in its feed, instead of failing at every pass. When market-data is
    unreachable the schedule's savepoint is rolled back and it waits for a later pass; the other
    schedules of the batch go ahead.
    """
    assert row.next_date is not None
    group = await session.get(FinanceGroup, row.group_id)
    assert group is not None
    members = {m.user_id for m in await access.active_members(session, group.id)}
    frequency = Frequency(row.frequency)
    made = 0
    for day in occurrences(row.start_date, frequency, first=row.next_date, last=today, end=row.end_date):
        draft = draft_on(row, day)
        try:
            shares, paid = ledger.plan(draft, members, row.created_by)
            rate, source = await fx.rate(market, row.currency, group.currency, day)
        except UpstreamUnavailable:
            raise  # market-data is down: this schedule waits for a later pass
        except AppError as exc:  # no longer fits the group, or no rate exists for its currency
            row.active = False
            await feed.record(session, group.id, None, "recurring.paused", row.id, reason=exc.message)
            return made
        created = await ledger.add_expense(
            session,
            group,
            draft,
            shares,
            paid,
            created_by=row.created_by,
            rate=rate,
            fx_source=source,
            recurring_id=row.id,
        )
        made += created is not None
    nxt = next_occurrence(row.start_date, frequency, today)
    row.next_date = None if row.end_date and nxt > row.end_date else nxt
    row.active = row.next_date is not None
    return made


async def materialise_due(db: Database, market: InternalClient, today: date) -> int:
    """Claim and materialise due schedules, a batch per transaction, until none is left (those
    postponed in this pass are not claimed again until the next one)."""
    total = 0
    postponed: list[uuid.UUID] = []
    while True:
        async with db.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(RecurringGroupExpense)
                    .where(
                        RecurringGroupExpense.active,
                        RecurringGroupExpense.next_date <= today,
                        RecurringGroupExpense.id.not_in(postponed),
                    )
                    .order_by(RecurringGroupExpense.next_date, RecurringGroupExpense.id)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                row_id = row.id
                try:
                    async with session.begin_nested():
                        total += await materialise(session, market, row, today)
                except UpstreamUnavailable as exc:
                    postponed.append(row_id)
                    log.warning("recurring expense postponed", recurring_id=str(row_id), error=exc.message)
        if len(rows) < CLAIM:
            return total


async def run(app: FastAPI) -> None:
    """The background loop; one failed pass is logged and the next one tries again."""
    settings = app.state.settings
    await app.state.bus.wait_connected()
    while True:
        try:
            made = await materialise_due(app.state.db, app.state.market, today_utc())
            if made:
                log.info("recurring group expenses materialised", count=made)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("scheduler pass failed", error=str(exc)[:300])
        await asyncio.sleep(settings.scheduler_interval_seconds)
