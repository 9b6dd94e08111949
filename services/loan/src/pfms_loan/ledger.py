"""Loans' money in the database: the schedule written at creation, payments applied and the schedule regenerated.

The arithmetic lives in `amortisation` and `payments`; this module loads rows, applies the result
and keeps the invariants the tables check: each instalment's `paid_amount` is the sum of its paid
parts and `outstanding_amount` what is left, the loan's `remaining_balance` equals the principal
still owed on its open instalments.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.loan import LoanInstalmentDue, LoanPaymentMade
from pfms_finance.currency import minor_unit, quantize
from pfms_loan import amortisation, domain, overdue, payments, store
from pfms_loan.amortisation import Compounding, EmiFrequency, InterestType, Method, PrepaymentMode, Terms
from pfms_loan.domain import CLOSED, InstalmentStatus, LoanStatus, LoanType, PaymentType
from pfms_loan.models import Instalment, Loan, LoanPayment
from pfms_platform.errors import Conflict, Invalid
from pfms_platform.events.outbox import emit

ZERO = Decimal(0)


def terms(loan: Loan) -> Terms:
    assert loan.emi_frequency is not None and loan.total_installments is not None
    return Terms(
        principal=loan.principal_amount,
        annual_rate=loan.interest_rate,
        interest_type=InterestType(loan.interest_type),
        compounding=Compounding(loan.interest_calculation),
        method=Method(loan.amortisation),
        frequency=EmiFrequency(loan.emi_frequency),
        instalments=loan.total_installments,
        start_date=loan.start_date,
        currency=loan.currency,
        emi_day=loan.emi_day,
    )


def in_minor_units(amount: Decimal, currency: str, field: str) -> None:
    """Refuse amounts finer than the currency allows (0.001 USD), so no rounding is ever implied."""
    if amount != amount.quantize(minor_unit(currency)):
        raise Invalid(f"{field} has more decimals than {currency} allows", field=field)


INSERT_SCHEDULE = text(
    "INSERT INTO emi_schedules (id, loan_id, installment_number, due_date, principal_amount, interest_amount, "
    "total_amount, outstanding_amount, metadata) "
    "SELECT gen_random_uuid(), :loan_id, n, d, p, i, p + i, p + i, jsonb_build_object('balance_after', b::text) "
    "FROM unnest(CAST(:numbers AS integer[]), CAST(:dates AS date[]), CAST(:principals AS numeric[]), "
    "CAST(:interests AS numeric[]), CAST(:balances AS numeric[])) AS t(n, d, p, i, b)"
)
"""A whole schedule in one statement from five arrays; other columns take their defaults (pending, nothing paid)."""

UPDATE_SCHEDULE = text(
    "UPDATE emi_schedules AS e SET due_date = t.d, principal_amount = t.p, interest_amount = t.i, "
    "total_amount = t.p + t.i, outstanding_amount = t.p + t.i, due_announced = false, updated_at = now(), "
    "metadata = e.metadata || jsonb_build_object('balance_after', t.b::text) "
    "FROM unnest(CAST(:numbers AS integer[]), CAST(:dates AS date[]), CAST(:principals AS numeric[]), "
    "CAST(:interests AS numeric[]), CAST(:balances AS numeric[])) AS t(n, d, p, i, b) "
    "WHERE e.loan_id = :loan_id AND e.installment_number = t.n"
)
"""Regenerated instalments rewritten in place (same ids and numbers) in one statement."""


def _arrays(loan: Loan, items: list[amortisation.Instalment]) -> dict[str, object]:
    return {
        "loan_id": loan.id,
        "numbers": [i.number for i in items],
        "dates": [i.due_date for i in items],
        "principals": [i.principal for i in items],
        "interests": [i.interest for i in items],
        "balances": [i.balance_after for i in items],
    }


async def write_schedule(session: AsyncSession, loan: Loan) -> int:
    """The new loan's instalments; sets its EMI amount and, unless given, its end date."""
    items = amortisation.schedule(terms(loan))
    await session.execute(INSERT_SCHEDULE, _arrays(loan, items))
    loan.emi_amount = items[0].total
    loan.end_date = loan.end_date or items[-1].due_date
    return len(items)


def _due(row: Instalment) -> payments.Due:
    return payments.Due(
        number=row.installment_number,
        due_date=row.due_date,
        late_fee=row.late_fee - row.late_fee_paid,
        interest=row.interest_amount - row.interest_paid,
        principal=row.principal_amount - row.principal_paid,
        started=row.paid_amount > 0,
    )


def _apply(row: Instalment, part: payments.Part, on: date, grace_days: int, today: date) -> None:
    row.late_fee_paid += part.late_fee
    row.interest_paid += part.interest
    row.principal_paid += part.principal
    row.paid_amount = row.principal_paid + row.interest_paid + row.late_fee_paid
    row.outstanding_amount = row.total_amount + row.late_fee - row.paid_amount
    row.partial_payments_count += 1
    row.status = domain.instalment_status(row.outstanding_amount, row.paid_amount, row.due_date, grace_days, today)
    if row.status == InstalmentStatus.PAID:
        row.paid_date = on


async def _regenerate(session: AsyncSession, loan: Loan, rows: list[Instalment], on: date, mode: PrepaymentMode) -> int:
    """Recompute the untouched future instalments after a prepayment; returns how many remain.

    Rows are updated in place in one statement (same ids and numbers, so reminders and consumers
    keyed by the instalment keep following it) and announced again with their new amount; the
    surplus of a shorter term is deleted.
    """
    replaced = [
        r
        for r in rows
        if r.paid_amount == 0 and r.late_fee == 0 and r.due_date > on and r.status != InstalmentStatus.PAID
    ]
    if not replaced:
        return 0
    kept_principal = sum(
        (
            r.principal_amount - r.principal_paid
            for r in rows
            if r not in replaced and r.status != InstalmentStatus.PAID
        ),
        ZERO,
    )
    balance = loan.remaining_balance - kept_principal
    plan = [
        amortisation.Instalment(r.installment_number, r.due_date, r.principal_amount, r.interest_amount, ZERO)
        for r in replaced
    ]
    fresh = amortisation.regenerate(terms(loan), balance, replaced[0].installment_number, plan, mode)
    await session.flush()
    if fresh:
        await session.execute(UPDATE_SCHEDULE, _arrays(loan, fresh))
    surplus = [r.id for r in replaced[len(fresh) :]]
    for row in replaced[len(fresh) :]:
        if row.due_announced:  # a cash-flow projection holds it: nothing is owed on it any more
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
                    amount=quantize(ZERO, loan.currency),
                ),
            )
    if surplus:
        await session.execute(
            delete(Instalment).where(Instalment.id.in_(surplus)), execution_options={"synchronize_session": False}
        )
    kept_dates = [r.due_date for r in rows if r not in replaced]
    for row in replaced:  # rewritten or deleted by SQL: the next query reloads what is left
        session.expire(row)
    loan.end_date = fresh[-1].due_date if fresh else max(kept_dates, default=on)
    return len(fresh)


async def past_due(session: AsyncSession, loan: Loan, today: date) -> bool:
    """An EMI loan with an overdue instalment, or a loan without a schedule still owed past its end date."""
    if not loan.emi_enabled:
        return (
            loan.end_date is not None
            and loan.remaining_balance > 0
            and overdue.is_overdue(loan.end_date, loan.grace_period_days, today)
        )
    await session.flush()
    found = await session.scalar(
        select(Instalment.id)
        .where(Instalment.loan_id == loan.id, Instalment.status == InstalmentStatus.OVERDUE.value)
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True, slots=True)
class Recorded:
    payment: LoanPayment
    allocation: payments.Allocation


async def pay(
    session: AsyncSession,
    loan: Loan,
    *,
    amount: Decimal,
    on: date,
    kind: PaymentType,
    mode: PrepaymentMode | None,
    today: date,
    extra: dict[str, str | None],
) -> Recorded:
    """Record a payment on a locked loan: allocate it, apply it, regenerate after a prepayment, emit `loan.payment`."""
    if LoanStatus(loan.status) in CLOSED:
        raise Conflict(f"The loan is {loan.status}; it takes no payment")
    in_minor_units(amount, loan.currency, "amount")
    if on < loan.start_date:
        raise Invalid("payment_date is before the loan started", field="payment_date")
    rows: list[Instalment] = []
    try:
        if loan.emi_enabled:
            rows = await store.instalments(session, loan.id, open_only=True)
            allocation = payments.allocate_schedule(
                amount,
                [_due(r) for r in rows],
                on,
                prepay=kind is PaymentType.PREPAYMENT,
                balance=loan.remaining_balance,
            )
        else:
            start = max(loan.interest_paid_to, loan.start_date)
            accrued = payments.accrued_interest(
                loan.remaining_balance,
                loan.interest_rate,
                InterestType(loan.interest_type),
                Compounding(loan.interest_calculation),
                start,
                on,
                loan.currency,
            )
            allocation = payments.allocate_open(amount, accrued, loan.remaining_balance)
            loan.interest_paid_to = max(loan.interest_paid_to, on)
    except payments.Overpaid as exc:
        raise Invalid(str(exc), field="amount") from exc
    by_number = {r.installment_number: r for r in rows}
    for part in allocation.parts:
        if part.number is not None:
            _apply(by_number[part.number], part, on, loan.grace_period_days, today)
    loan.remaining_balance -= allocation.principal
    loan.total_paid += amount
    loan.total_interest_paid += allocation.interest
    loan.total_late_fee_paid += allocation.late_fee
    regenerated = 0
    if allocation.prepaid > 0:
        regenerated = await _regenerate(session, loan, rows, on, mode or PrepaymentMode(loan.prepayment_mode))
    await session.flush()
    owed = await store.amount_due(session, loan)
    loan.status = domain.loan_status(LoanStatus(loan.status), owed, await past_due(session, loan, today)).value
    if loan.status == LoanStatus.PAID:
        loan.actual_end_date = on
    first = next((p.number for p in allocation.parts if p.number is not None), None)
    payment = LoanPayment(
        id=uuid.uuid4(),
        loan_id=loan.id,
        emi_schedule_id=by_number[first].id if first is not None else None,
        user_id=loan.user_id,
        amount=amount,
        currency=loan.currency,
        payment_date=on,
        principal_paid=allocation.principal,
        interest_paid=allocation.interest,
        late_fee_paid=allocation.late_fee,
        remaining_balance=loan.remaining_balance,
        payment_type=kind.value,
        status="completed",
        meta={
            "allocation": [
                {
                    "installment_number": p.number,
                    "late_fee": str(p.late_fee),
                    "interest": str(p.interest),
                    "principal": str(p.principal),
                }
                for p in allocation.parts
            ],
            "regenerated_instalments": regenerated,
        },
        **extra,
    )
    session.add(payment)
    await session.flush()
    store.log(
        session,
        loan,
        "payment_recorded",
        f"{kind.value} payment of {amount} {loan.currency}",
        old={"remaining_balance": loan.remaining_balance + allocation.principal},
        new={"remaining_balance": loan.remaining_balance, "status": loan.status},
        payment_id=payment.id,
    )
    if regenerated:
        store.log(session, loan, "schedule_regenerated", f"{regenerated} instalments after a prepayment")
    await emit(
        session,
        LoanPaymentMade(
            user_id=loan.user_id,
            loan_id=loan.id,
            direction=LoanType(loan.type).value,
            currency=loan.currency,
            payment_id=payment.id,
            amount=quantize(amount, loan.currency),
            principal_paid=quantize(allocation.principal, loan.currency),
            interest_paid=quantize(allocation.interest, loan.currency),
            late_fee_paid=quantize(allocation.late_fee, loan.currency),
            remaining_balance=quantize(loan.remaining_balance, loan.currency),
            payment_date=on,
            payment_type=kind.value,
            loan_status=loan.status,
        ),
    )
    return Recorded(payment, allocation)
