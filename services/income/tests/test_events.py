"""Real events on the bus feed the projection's read model; every one retires the cached projection."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated, RecurringExpenseChanged
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_contracts.loan import LoanInstalmentDue, LoanPaymentMade
from pfms_finance.recurrence import add_months
from pfms_income.models import (
    CashflowProjection,
    ExpenseFact,
    IncomeSource,
    IncomeTransaction,
    ProjectionInputs,
    ScheduledOutflow,
)

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()


def spent(person, amount: str, *, days_ago: int = 1, expense_id: uuid.UUID | None = None, **extra) -> ExpenseCreated:
    return ExpenseCreated(
        user_id=person.user_id,
        expense_id=expense_id or uuid.uuid4(),
        amount=Decimal(amount),
        currency=extra.pop("currency", "USD"),
        expense_date=TODAY - timedelta(days=days_ago),
        **extra,
    )


def schedule(person, rid: uuid.UUID, amount: str, due: date, **extra) -> RecurringExpenseChanged:
    values = {
        "user_id": person.user_id,
        "recurring_expense_id": rid,
        "amount": Decimal(amount),
        "currency": "USD",
        "frequency": "monthly",
        "start_date": due,
        "next_due_date": due,
        "description": "Rent",
        "active": True,
        **extra,
    }
    return RecurringExpenseChanged(**values)


async def test_expenses_of_the_last_30_days_make_the_daily_burn(env) -> None:
    me = env.person()
    before = await env.projection(me, days=30, starting_balance="1000")
    assert before["daily_burn"] == "0.00"
    cached = await env.projection(me, days=30, starting_balance="1000")
    assert cached["cached"] is True

    await env.deliver(spent(me, "450.00", days_ago=0))
    await env.deliver(spent(me, "150.00", days_ago=29))
    await env.deliver(spent(me, "999.00", days_ago=30))  # outside the window
    await env.deliver(spent(me, "80.00", currency="EUR"))
    booked = spent(me, "1200.00", source="recurring", recurring_expense_id=uuid.uuid4())
    await env.deliver(booked)  # a schedule's booking is projected as an outflow, not as burn

    after = await env.projection(me, days=30, starting_balance="1000")
    assert after["cached"] is False, "an event retires the cached projection at once"
    assert after["daily_burn"] == "20.00" and after["ending_balance"] == "400.00"
    assert after["other_currencies"] == [
        {"currency": "EUR", "daily_burn": "2.67", "expected_income": "0.00", "expected_expenses": "80.00"}
    ]


async def test_updates_and_deletions_correct_the_burn_and_a_late_update_never_resurrects(env) -> None:
    me = env.person()
    expense_id = uuid.uuid4()
    created = spent(me, "300.00", expense_id=expense_id)
    await env.deliver(created)
    assert (await env.projection(me, days=1))["daily_burn"] == "10.00"

    facts = created.model_dump(exclude={"amount"})
    changed = ExpenseUpdated(
        **facts, amount=Decimal("600.00"), previous_amount=Decimal("300.00"), previous_expense_date=created.expense_date
    )
    await env.deliver(changed)
    assert (await env.projection(me, days=1))["daily_burn"] == "20.00"

    await env.deliver(
        ExpenseDeleted(
            user_id=me.user_id,
            expense_id=expense_id,
            amount=Decimal("600.00"),
            currency="USD",
            expense_date=created.expense_date,
        )
    )
    assert (await env.projection(me, days=1))["daily_burn"] == "0.00"
    await env.deliver(changed)  # arrives late (e.g. redelivered after a retry): stays deleted
    assert (await env.projection(me, days=1))["daily_burn"] == "0.00"
    assert await env.count(ExpenseFact, ExpenseFact.expense_id == expense_id, ExpenseFact.deleted) == 1


async def test_a_deletion_before_its_creation_leaves_a_tombstone(env) -> None:
    me = env.person()
    expense_id = uuid.uuid4()
    await env.deliver(
        ExpenseDeleted(
            user_id=me.user_id, expense_id=expense_id, amount=Decimal(30), currency="USD", expense_date=TODAY
        )
    )
    await env.deliver(spent(me, "30.00", expense_id=expense_id))
    assert (await env.projection(me, days=1))["daily_burn"] == "0.00"


async def test_recurring_expenses_are_paid_on_their_due_dates_until_paused_or_deleted(env) -> None:
    me = env.person()
    rid = uuid.uuid4()
    due = TODAY + timedelta(days=5)
    await env.deliver(schedule(me, rid, "1200.00", due))
    body = await env.projection(me, days=40, starting_balance="2000")
    outflows = {d["date"]: d["scheduled_outflows"] for d in body["series"] if d["scheduled_outflows"] != "0.00"}
    assert outflows[due.isoformat()] == "1200.00" and len(outflows) == 2
    assert [d["notes"] for d in body["series"] if d["date"] == due.isoformat()] == [["-1200.00 Rent"]]
    assert body["ending_balance"] == "-400.00"
    assert body["warning_dates"] == [add_months(due, 1).isoformat()]

    await env.deliver(schedule(me, rid, "1200.00", due, active=False))
    assert (await env.projection(me, days=40, starting_balance="2000"))["ending_balance"] == "2000.00"
    resumed = schedule(me, rid, "1250.00", add_months(due, 1), start_date=due)  # resumed a month on, dearer
    await env.deliver(resumed)
    assert (await env.projection(me, days=40, starting_balance="2000"))["ending_balance"] == "750.00"

    await env.deliver(schedule(me, rid, "1250.00", due, active=False, deleted=True))
    await env.deliver(schedule(me, rid, "1250.00", due))  # a stale change after the deletion is ignored
    assert (await env.projection(me, days=40, starting_balance="2000"))["ending_balance"] == "2000.00"
    assert await env.count(ScheduledOutflow, ScheduledOutflow.external_id == rid) == 1


def instalment(person, loan_id: uuid.UUID, n: int, amount: str, due: date, direction: str) -> LoanInstalmentDue:
    return LoanInstalmentDue(
        user_id=person.user_id,
        loan_id=loan_id,
        direction=direction,
        currency="USD",
        instalment_id=uuid.uuid5(loan_id, str(n)),
        installment_number=n,
        due_date=due,
        amount=Decimal(amount),
    )


def payment(person, loan_id: uuid.UUID, amount: str, late_fee: str, status: str) -> LoanPaymentMade:
    return LoanPaymentMade(
        user_id=person.user_id,
        loan_id=loan_id,
        direction="borrowed",
        currency="USD",
        payment_id=uuid.uuid4(),
        amount=Decimal(amount),
        principal_paid=Decimal(amount) - Decimal(late_fee),
        interest_paid=Decimal(0),
        late_fee_paid=Decimal(late_fee),
        remaining_balance=Decimal(0) if status == "paid" else Decimal(500),
        payment_date=TODAY,
        payment_type="regular",
        loan_status=status,
    )


async def test_loan_instalments_are_paid_out_or_received_and_payments_settle_them_oldest_first(env) -> None:
    me = env.person()
    borrowed, lent = uuid.uuid4(), uuid.uuid4()
    first, second = TODAY + timedelta(days=3), TODAY + timedelta(days=33)
    await env.deliver(instalment(me, borrowed, 1, "300.00", first, "borrowed"))
    await env.deliver(instalment(me, borrowed, 2, "300.00", second, "borrowed"))
    await env.deliver(instalment(me, lent, 1, "120.00", first, "lent"))
    body = await env.projection(me, days=40, starting_balance="1000")
    on_first = next(d for d in body["series"] if d["date"] == first.isoformat())
    assert (on_first["scheduled_outflows"], on_first["expected_income"]) == ("300.00", "120.00")
    assert sorted(on_first["notes"]) == ["+120.00 Loan instalment 1", "-300.00 Loan instalment 1"]
    assert body["ending_balance"] == "520.00"

    # 350 paid (10 of it a late fee): the first instalment is settled, 40 of the second.
    await env.deliver(payment(me, borrowed, "350.00", "10.00", "active"))
    body = await env.projection(me, days=40, starting_balance="1000")
    outflows = {d["date"]: d["scheduled_outflows"] for d in body["series"] if d["scheduled_outflows"] != "0.00"}
    assert outflows == {second.isoformat(): "260.00"}
    await env.deliver(payment(me, borrowed, "260.00", "0.00", "paid"))
    assert (await env.projection(me, days=40, starting_balance="1000"))["ending_balance"] == "1120.00"


async def test_inflation_and_end_date_of_a_recurring_expense(env) -> None:
    me = env.person()
    start = add_months(TODAY + timedelta(days=1), -12)  # the first anniversary is tomorrow
    await env.deliver(
        schedule(
            me,
            uuid.uuid4(),
            "100.00",
            TODAY + timedelta(days=1),
            frequency="daily",
            start_date=start,
            end_date=TODAY + timedelta(days=3),
            inflation_rate=Decimal("0.10"),
        )
    )
    body = await env.projection(me, days=5)
    assert [d["scheduled_outflows"] for d in body["series"]] == ["110.00", "110.00", "110.00", "0.00", "0.00"]


async def test_the_profile_currency_becomes_the_default(env) -> None:
    me = env.person()
    await env.deliver(UserUpdated(user_id=me.user_id, section="profile", changes={"currency": "GBP"}), source="user")
    assert (await env.projection(me, days=1))["currency"] == "GBP"
    await env.deliver(UserUpdated(user_id=me.user_id, section="profile", changes={"first_name": "Ada"}), source="user")
    await env.deliver(UserUpdated(user_id=me.user_id, section="financial", changes={"currency": "EUR"}), source="user")
    assert (await env.projection(me, days=1))["currency"] == "GBP"
    assert (await env.projection(me, days=1, currency="CHF"))["currency"] == "CHF"


async def test_handlers_are_idempotent_when_an_event_is_applied_again_under_a_new_id(env) -> None:
    me = env.person()
    rid = uuid.uuid4()
    for data in (spent(me, "30.00", expense_id=rid), schedule(me, rid, "10.00", TODAY + timedelta(days=1))):
        for _ in range(2):
            event = CloudEvent.wrap("expense", data)
            assert await env.svc.app.state.consumer.apply(event, data) is True
    assert await env.count(ExpenseFact, ExpenseFact.user_id == me.user_id) == 1
    assert await env.count(ScheduledOutflow, ScheduledOutflow.user_id == me.user_id) == 1
    body = await env.projection(me, days=1)
    assert (body["daily_burn"], body["total_expected_expenses"]) == ("1.00", "11.00")


async def test_an_unknown_frequency_fails_the_handler_instead_of_breaking_projections(env) -> None:
    me = env.person()
    data = schedule(me, uuid.uuid4(), "10.00", TODAY, frequency="fortnightly")
    with pytest.raises(ValueError, match="fortnightly"):
        await env.svc.app.state.consumer.apply(CloudEvent.wrap("expense", data), data)
    assert await env.count(ScheduledOutflow, ScheduledOutflow.user_id == me.user_id) == 0


async def test_user_deleted_purges_every_row_of_the_user(env) -> None:
    me, other = env.person(), env.person()
    for person in (me, other):
        source = await env.client.post(
            "/api/v1/income/sources",
            json={
                "name": "Pay",
                "type": "salary",
                "currency": "USD",
                "amount": "9",
                "frequency": "weekly",
                "start_date": TODAY.isoformat(),
            },
            headers=person.headers,
        )
        await env.client.post(
            "/api/v1/income/transactions",
            json={"amount": "9", "date": TODAY.isoformat(), "source_id": source.json()["data"]["id"]},
            headers=person.headers,
        )
        await env.deliver(spent(person, "5.00"))
        await env.deliver(schedule(person, uuid.uuid4(), "7.00", TODAY + timedelta(days=2)))
        await env.projection(person, days=3)

    await env.deliver(UserDeleted(user_id=me.user_id, deleted_at=datetime.now(UTC)), source="auth")
    tables = (IncomeSource, IncomeTransaction, ExpenseFact, ScheduledOutflow, CashflowProjection, ProjectionInputs)
    for model in tables:
        assert await env.count(model, model.user_id == me.user_id) == 0, model.__tablename__
        assert await env.count(model, model.user_id == other.user_id) >= 1, model.__tablename__
    # the deleted account's token is refused from now on (pfms_platform.revocation), not answered with nothing
    assert (await env.client.get("/api/v1/income/sources", headers=me.headers)).status_code == 401
