"""The daily loan job: overdue instalments, late fees, `days_overdue`, reminders and `loan.instalment_due`.

It runs as a background loop in every instance. A pass claims open loans not yet checked today
with `SELECT ... FOR UPDATE SKIP LOCKED` (so two instances never work on the same loan), handles
each loan in its own transaction and stamps it `checked_on = today`; a second pass the same day
finds nothing to do. Each step is idempotent on its own as well: a late fee is charged once per
instalment (`late_fee_applied`), a reminder exists once per (instalment, kind) (unique key), and
`loan.instalment_due` / `loan.overdue` leave once per instalment. Snoozed reminders come back on
their `snooze_until` day. "Today" comes from `Settings.today()` (injectable outside production).
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.loan import LoanInstalmentDue, LoanOverdue
from pfms_contracts.notification import NotificationRequested
from pfms_finance.currency import quantize
from pfms_loan import domain, ledger, overdue, store
from pfms_loan.domain import InstalmentStatus, LoanStatus, LoanType, ReminderType
from pfms_loan.models import Instalment, Loan, PaymentReminder
from pfms_loan.overdue import LateFeeType
from pfms_platform.db import Database
from pfms_platform.events.outbox import emit
from pfms_platform.logging import get_logger

log = get_logger(__name__)

CLAIM = 50


@dataclass
class Tally:
    loans: int = 0
    overdue: int = 0
    reminders: int = 0
    announced: int = 0

    def add(self, other: "Tally") -> None:
        self.loans += other.loans
        self.overdue += other.overdue
        self.reminders += other.reminders
        self.announced += other.announced


def _notice(loan: Loan, row: Instalment, kind: ReminderType, amount: str) -> tuple[str, str]:
    pays = "pay" if loan.type == LoanType.BORROWED else "receive"
    if kind is ReminderType.OVERDUE:
        return (
            f"Instalment {row.installment_number} is overdue",
            f"Instalment {row.installment_number} due {row.due_date.isoformat()} is {row.days_overdue} days overdue: "
            f"{amount} {loan.currency} to {pays}.",
        )
    return (
        f"Instalment {row.installment_number} due {row.due_date.isoformat()}",
        f"{amount} {loan.currency} to {pays} on {row.due_date.isoformat()}.",
    )


async def _remind(session: AsyncSession, loan: Loan, row: Instalment, kind: ReminderType, today: date) -> bool:
    """Create the reminder (once per instalment and kind) and ask the notification service to deliver it."""
    reminder_id = await session.scalar(
        insert(PaymentReminder)
        .values(
            id=uuid.uuid4(),
            loan_id=loan.id,
            emi_schedule_id=row.id,
            user_id=loan.user_id,
            reminder_type=kind.value,
            reminder_date=today,
            due_date=row.due_date,
            amount=row.outstanding_amount,
            currency=loan.currency,
            notification_sent=True,
            notification_sent_at=datetime.now(UTC),
            notification_channels=[],
        )
        .on_conflict_do_nothing(index_elements=[PaymentReminder.emi_schedule_id, PaymentReminder.reminder_type])
        .returning(PaymentReminder.id)
    )
    if reminder_id is None:
        return False
    await _notify(session, loan, row, kind, reminder_id)
    row.reminder_sent = True
    row.reminder_sent_at = datetime.now(UTC)
    return True


async def _notify(
    session: AsyncSession, loan: Loan, row: Instalment, kind: ReminderType, reminder_id: uuid.UUID
) -> None:
    amount = str(quantize(row.outstanding_amount, loan.currency))
    title, message = _notice(loan, row, kind, amount)
    await emit(
        session,
        NotificationRequested(
            user_id=loan.user_id,
            category="loan",
            title=title,
            message=message,
            priority="high" if kind is ReminderType.OVERDUE else "normal",
            reference_type="loan",
            reference_id=loan.id,
            action_url=f"/loans/{loan.id}",
            dedupe_key=f"loan-reminder:{reminder_id}:{amount}",
            data={
                "loan_id": str(loan.id),
                "reminder_id": str(reminder_id),
                "installment_number": row.installment_number,
                "due_date": row.due_date.isoformat(),
                "amount": amount,
                "currency": loan.currency,
                "kind": kind.value,
            },
        ),
    )


async def _mark_overdue(session: AsyncSession, loan: Loan, row: Instalment, today: date) -> bool:
    """Overdue status, days overdue and the one-off late fee; True when the instalment just became overdue."""
    row.days_overdue = overdue.days_overdue(row.due_date, today)
    if row.status == InstalmentStatus.OVERDUE:
        return False
    old = {"status": row.status, "late_fee": row.late_fee}
    row.status = InstalmentStatus.OVERDUE.value
    row.overdue_since = overdue.overdue_since(row.due_date, loan.grace_period_days)
    fee = Decimal(0)
    if loan.late_fee_enabled and not row.late_fee_applied and loan.late_fee_amount and loan.late_fee_type:
        fee = overdue.late_fee(LateFeeType(loan.late_fee_type), loan.late_fee_amount, row.total_amount, loan.currency)
    if fee:
        row.late_fee += fee
        row.outstanding_amount += fee
    row.late_fee_applied = row.late_fee_applied or loan.late_fee_enabled
    store.log(
        session,
        loan,
        "instalment_overdue",
        f"Instalment {row.installment_number} overdue" + (f", late fee {fee} {loan.currency}" if fee else ""),
        old=old,
        new={"status": row.status, "late_fee": row.late_fee, "days_overdue": row.days_overdue},
        instalment_id=row.id,
    )
    await emit(
        session,
        LoanOverdue(
            user_id=loan.user_id,
            loan_id=loan.id,
            direction=loan.type,
            currency=loan.currency,
            instalment_id=row.id,
            installment_number=row.installment_number,
            due_date=row.due_date,
            outstanding=quantize(row.outstanding_amount, loan.currency),
            late_fee=quantize(row.late_fee, loan.currency),
            days_overdue=row.days_overdue,
        ),
    )
    return True


async def _announce_late_open_loan(session: AsyncSession, loan: Loan, today: date) -> None:
    """`loan.overdue` for a loan without a schedule still owed past its end date (no instalment, no late fee)."""
    assert loan.end_date is not None
    await emit(
        session,
        LoanOverdue(
            user_id=loan.user_id,
            loan_id=loan.id,
            direction=loan.type,
            currency=loan.currency,
            due_date=loan.end_date,
            outstanding=quantize(loan.remaining_balance, loan.currency),
            late_fee=Decimal(0),
            days_overdue=overdue.days_overdue(loan.end_date, today),
        ),
    )


async def check_loan(session: AsyncSession, loan: Loan, today: date, horizon_days: int) -> Tally:
    """Everything the day means for one locked loan."""
    tally = Tally(loans=1)
    for row in await store.instalments(session, loan.id, open_only=True):
        if overdue.is_overdue(row.due_date, loan.grace_period_days, today):
            if await _mark_overdue(session, loan, row, today):
                tally.overdue += 1
            if loan.reminder_enabled and await _remind(session, loan, row, ReminderType.OVERDUE, today):
                tally.reminders += 1
        elif (
            loan.reminder_enabled
            and overdue.should_remind(row.due_date, loan.reminder_days_before, today)
            and await _remind(session, loan, row, ReminderType.UPCOMING, today)
        ):
            tally.reminders += 1
        if not row.due_announced and (row.due_date - today).days <= horizon_days:
            await emit(
                session,
                LoanInstalmentDue(
                    user_id=loan.user_id,
                    loan_id=loan.id,
                    direction=loan.type,
                    currency=loan.currency,
                    instalment_id=row.id,
                    installment_number=row.installment_number,
                    due_date=row.due_date,
                    amount=quantize(row.outstanding_amount, loan.currency),
                ),
            )
            row.due_announced = True
            tally.announced += 1
    await session.flush()
    late = await ledger.past_due(session, loan, today)
    status = domain.loan_status(LoanStatus(loan.status), await store.amount_due(session, loan), late)
    if status is LoanStatus.OVERDUE and loan.status != status and not loan.emi_enabled:
        await _announce_late_open_loan(session, loan, today)
        tally.overdue += 1
    if status.value != loan.status:
        store.log(
            session,
            loan,
            "status_changed",
            f"Loan {status.value}",
            old={"status": loan.status},
            new={"status": status.value},
        )
        loan.status = status.value
    loan.checked_on = today
    return tally


async def check_loans(db: Database, today: date, horizon_days: int) -> Tally:
    """Claim open loans (with a schedule or an end date) not yet checked today, a batch per transaction."""
    tally = Tally()
    failed: set[uuid.UUID] = set()
    while True:
        async with db.sessions() as session, session.begin():
            loans = (
                await session.scalars(
                    select(Loan)
                    .where(
                        Loan.status.in_([LoanStatus.ACTIVE.value, LoanStatus.OVERDUE.value]),
                        or_(Loan.emi_enabled, Loan.end_date.is_not(None)),
                        or_(Loan.checked_on.is_(None), Loan.checked_on != today),
                        Loan.id.not_in(failed) if failed else true(),
                    )
                    .order_by(Loan.id)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for loan in loans:
                try:
                    async with session.begin_nested():
                        tally.add(await check_loan(session, loan, today, horizon_days))
                except Exception as exc:  # one broken loan must not stop the others; retried next pass
                    failed.add(loan.id)
                    log.warning("loan check failed", loan_id=str(loan.id), error=str(exc)[:300])
        if len(loans) < CLAIM:
            return tally


async def wake_snoozed(db: Database, today: date) -> int:
    """Send again the snoozed reminders whose day has come (unless acknowledged or the instalment got paid)."""
    sent = 0
    async with db.sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(PaymentReminder, Instalment, Loan)
                .join(Instalment, Instalment.id == PaymentReminder.emi_schedule_id)
                .join(Loan, Loan.id == PaymentReminder.loan_id)
                .where(
                    PaymentReminder.is_snoozed,
                    PaymentReminder.is_acknowledged.is_(False),
                    PaymentReminder.snooze_until <= today,
                )
                .with_for_update(of=PaymentReminder, skip_locked=True)
            )
        ).all()
        for reminder, row, loan in rows:
            reminder.is_snoozed = False
            if row.status in (InstalmentStatus.PAID, InstalmentStatus.WAIVED, InstalmentStatus.SKIPPED):
                continue
            reminder.notification_sent_at = datetime.now(UTC)
            reminder.amount = row.outstanding_amount
            await _notify(session, loan, row, ReminderType(reminder.reminder_type), reminder.id)
            sent += 1
    return sent


async def daily(db: Database, today: date, horizon_days: int) -> Tally:
    tally = await check_loans(db, today, horizon_days)
    tally.reminders += await wake_snoozed(db, today)
    if tally.overdue or tally.reminders or tally.announced:
        log.info("loan job pass", day=today.isoformat(), **vars(tally))
    return tally


async def run(app: FastAPI) -> None:
    """The background loop; a failed pass is logged and the next one tries again."""
    settings = app.state.settings
    await app.state.bus.wait_connected()
    while True:
        try:
            await daily(app.state.db, settings.today(), settings.due_horizon_days)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("loan job pass failed", error=str(exc)[:300])
        await asyncio.sleep(settings.jobs_interval_seconds)
