"""Events consumed from the real bus: round-ups, income shares, requested contributions, the expense
read model behind the emergency fund, and the purge of a deleted user — each exactly once."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeReceived
from pfms_contracts.savings import SavingsContributionRequested
from pfms_savings.models import AutoSaveRule, Contribution, Goal, SpendingFact

from .conftest import Harness

pytestmark = pytest.mark.integration


def expense(user: uuid.UUID, amount: str, *, currency: str = "USD", day: date = date(2026, 3, 2), **kw: object):
    return ExpenseCreated(
        user_id=user,
        expense_id=kw.pop("expense_id", uuid.uuid4()),
        amount=Decimal(amount),
        currency=currency,
        expense_date=day,
        **kw,
    )


async def amounts(env: Harness, goal_id: str) -> list[str]:
    rows = (await env.get(f"/api/v1/savings/goals/{goal_id}/contributions")).json()["data"]
    return sorted(r["amount"] for r in rows)


async def test_round_up_saves_once_per_expense(env: Harness) -> None:
    goal = await env.goal()
    fives = await env.rule(goal_id=goal["id"], name="Round to 5", kind="round_up", round_up_unit="5")
    await env.rule(goal_id=goal["id"], name="Round to 1", kind="round_up", round_up_unit="1")
    spent = expense(env.alice, "12.34")
    event = await env.publish(spent)
    await env.publish(spent, event=event)  # the same CloudEvent redelivered
    await env.publish(spent)  # a second event about the same expense
    await env.publish(expense(env.alice, "20.00"))  # an exact multiple: nothing to save
    await env.publish(expense(env.alice, "7.50", currency="EUR"))  # not the goal's currency
    await env.publish(expense(env.bob, "3.10"))  # someone else's expense
    await env.settle()
    assert await amounts(env, goal["id"]) == ["0.66", "2.66"]
    rows = (await env.get(f"/api/v1/savings/goals/{goal['id']}/contributions")).json()["data"]
    by_rule = {r["rule_id"]: r for r in rows}
    assert by_rule[fives["id"]]["source"] == "round_up"
    assert by_rule[fives["id"]]["source_ref"] == str(spent.expense_id)
    assert by_rule[fives["id"]]["date"] == "2026-03-02"
    assert (await env.get(f"/api/v1/savings/goals/{goal['id']}")).json()["data"]["saved_amount"] == "3.32"


async def test_paused_rules_and_goals_save_nothing(env: Harness) -> None:
    goal = await env.goal()
    rule = await env.rule(goal_id=goal["id"], name="Round", kind="round_up", round_up_unit="10")
    await env.patch(f"/api/v1/savings/rules/{rule['id']}", {"active": False})
    await env.publish(expense(env.alice, "1.00"))
    await env.settle()  # handled while the rule is off, not after it is switched back on
    await env.patch(f"/api/v1/savings/rules/{rule['id']}", {"active": True})
    await env.patch(f"/api/v1/savings/goals/{goal['id']}", {"status": "paused"})
    await env.publish(expense(env.alice, "2.00"))
    await env.settle()
    assert await env.entries(goal["id"]) == 0


async def test_income_percentage_saves_a_share_once(env: Harness) -> None:
    goal = await env.goal(target_amount="100.00")
    await env.rule(goal_id=goal["id"], name="Pay yourself first", kind="income_percent", percent="12.5")
    income = IncomeReceived(
        user_id=env.alice,
        income_id=uuid.uuid4(),
        source_type="salary",
        amount=Decimal("1200.00"),
        tax_deducted=Decimal("200.01"),
        net_amount=Decimal("999.99"),
        currency="USD",
        received_date=date(2026, 3, 25),
    )
    event = await env.publish(income)
    await env.publish(income, event=event)
    await env.publish(income)
    await env.settle()
    assert await amounts(env, goal["id"]) == ["124.99"]  # 12.5 % of 999.99 = 124.99875, rounded down
    achieved = await env.outbox("goal.achieved")
    assert [a["achieved_on"] for a in achieved] == ["2026-03-25"]


async def test_requested_contributions_are_recorded_once_per_request(env: Harness) -> None:
    goal = await env.goal()
    request = SavingsContributionRequested(
        user_id=env.alice,
        request_id=uuid.uuid4(),
        goal_id=uuid.UUID(goal["id"]),
        amount=Decimal("25.00"),
        currency="USD",
        requested_by="automation:rule:42",
    )
    event = await env.publish(request)
    await env.publish(request, event=event)
    await env.publish(request)
    stolen = request.model_copy(update={"user_id": env.bob, "request_id": uuid.uuid4()})
    await env.publish(stolen)  # bob cannot pay into alice's goal
    await env.publish(request.model_copy(update={"request_id": uuid.uuid4(), "currency": "EUR"}))
    await env.settle()
    rows = (await env.get(f"/api/v1/savings/goals/{goal['id']}/contributions")).json()["data"]
    assert [(r["amount"], r["source"], r["source_ref"], r["note"]) for r in rows] == [
        ("25.00", "automation", str(request.request_id), "Requested by automation:rule:42")
    ]
    assert rows[0]["date"] == datetime.now(UTC).date().isoformat()


async def test_emergency_fund_from_the_expense_read_model(env: Harness) -> None:
    path = "/api/v1/savings/recommendations/emergency-fund"
    empty = (await env.get(path)).json()["data"]
    assert (empty["months_analyzed"], empty["by_currency"]) == (0, [])
    # TODAY is 31 March 2026: the last 6 whole months are Oct-Feb, but spending starts in January
    january = expense(env.alice, "1500", day=date(2026, 1, 10))
    changed = expense(env.alice, "100", day=date(2026, 2, 3))
    gone = expense(env.alice, "999", day=date(2026, 2, 4))
    events = [
        january,
        changed,
        gone,
        expense(env.alice, "400", day=date(2026, 2, 20)),
        expense(env.alice, "800", day=date(2026, 3, 5)),  # this month: not a whole month yet
        expense(env.alice, "300", currency="EUR", day=date(2026, 2, 1)),
        expense(env.bob, "5000", day=date(2026, 2, 1)),
    ]
    for data in events:
        await env.publish(data)
    await env.publish(
        ExpenseUpdated(
            **changed.model_dump(exclude={"amount"}),
            amount=Decimal("600"),
            previous_amount=Decimal("100"),
            previous_expense_date=changed.expense_date,
        )
    )
    await env.publish(
        ExpenseDeleted(
            user_id=env.alice,
            expense_id=gone.expense_id,
            amount=gone.amount,
            currency="USD",
            expense_date=gone.expense_date,
        )
    )
    await env.settle()
    await env.publish(gone)  # a late redelivery of a deleted expense's creation does not bring it back
    await env.settle()
    fund = await env.goal(name="Buffer", category="emergency_fund", target_amount="9000")
    await env.contribute(fund["id"], "1250")
    data = (await env.get(path)).json()["data"]
    assert (data["period_start"], data["period_end"], data["months_analyzed"]) == ("2026-01-01", "2026-02-28", 2)
    assert (data["minimum_months"], data["recommended_months"]) == (3, 6)
    assert data["by_currency"] == [
        {
            "currency": "EUR",
            "monthly_expenses": "150.00",
            "minimum": "450.00",
            "recommended": "900.00",
            "saved": "0.00",
            "shortfall": "900.00",
            "months_covered": "0.0",
        },
        {
            "currency": "USD",
            "monthly_expenses": "1250.00",  # (1500 + 600 + 400) / 2
            "minimum": "3750.00",
            "recommended": "7500.00",
            "saved": "1250.00",
            "shortfall": "6250.00",
            "months_covered": "1.0",
        },
    ]


async def test_user_deleted_purges_every_row(env: Harness) -> None:
    goal = await env.goal()
    await env.rule(goal_id=goal["id"], name="Round", kind="round_up", round_up_unit="1")
    await env.contribute(goal["id"], "300")
    await env.publish(expense(env.alice, "1.50"))
    await env.wait_entries(goal["id"], 2)
    keep = await env.goal(env.bob)
    deleted = await env.publish(UserDeleted(user_id=env.alice, deleted_at=datetime.now(UTC)))
    await env.wait_handled(deleted)
    for model in (Goal, Contribution, AutoSaveRule, SpendingFact):
        assert await env.count(model, model.user_id == env.alice) == 0, model
    assert (await env.get(f"/api/v1/savings/goals/{keep['id']}", env.bob)).status_code == 200
