"""Rules as a whole, without I/O: checks with pointed errors, run order, and the plans actions make."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_automation.actions import Context, contribution_amount, plan, reversal
from pfms_automation.conditions import RuleError
from pfms_automation.rules import TRIGGER_EVENTS, CompiledRule, RuleSet, check, order
from pfms_contracts.automation import AutomationCustom
from pfms_contracts.expense import ExpenseAmendRequested, ExpenseCreateRequested
from pfms_contracts.notification import NotificationRequested
from pfms_contracts.savings import SavingsContributionRequested
from pfms_finance.currency import minor_unit

USER = uuid.uuid4()
RULE = uuid.uuid4()
EXPENSE_ID = str(uuid.uuid4())
GOAL = str(uuid.uuid4())
UBER = {"field": "description", "op": "contains", "value": "uber"}
EXPENSE = {
    "expense_id": EXPENSE_ID,
    "description": "Uber trip",
    "amount": "23.50",
    "currency": "EUR",
    "category_id": None,
    "category_name": None,
    "tags": ["work"],
    "expense_date": "2026-11-23",
}


def ctx(data: dict[str, Any] = EXPENSE, trigger: str = "expense.created") -> Context:
    return Context(USER, RULE, "event-1", trigger, dict(data), date(2026, 11, 23))


def test_trigger_events_come_from_the_contracts_and_leave_out_secrets_and_loops() -> None:
    assert {"expense.created", "expense.updated", "income.received", "goal.achieved", "loan.overdue"} <= set(
        TRIGGER_EVENTS
    )
    assert {"group.expense.created", "budget.threshold_reached", "investment.transaction"} <= set(TRIGGER_EVENTS)
    assert not {"rule.executed", "auth.password_reset_requested", "user.deleted", "price.updated"} & set(TRIGGER_EVENTS)
    assert not {"expense.amend_requested", "notification.requested"} & set(TRIGGER_EVENTS)  # commands, not facts
    assert "user_id" not in TRIGGER_EVENTS["expense.created"]


@pytest.mark.parametrize(
    ("trigger", "conditions", "actions", "path"),
    [
        ({"event": "expense.exploded"}, None, [{"type": "notify", "title": "t", "message": "m"}], "trigger.event"),
        ({"event": "rule.executed"}, None, [{"type": "notify", "title": "t", "message": "m"}], "trigger.event"),
        ({"cron": "0 9 * *"}, None, [{"type": "notify", "title": "t", "message": "m"}], "trigger.cron"),
        ({"cron": "0 0 31 2 *"}, None, [{"type": "notify", "title": "t", "message": "m"}], "trigger.cron"),
        ({"cron": "0 9 * * *", "timezone": "Nowhere/City"}, None, [], "trigger.timezone"),
        ({"event": "expense.created", "cron": "0 9 * * *"}, None, [], "trigger"),
        (
            {"event": "expense.created"},
            {"all": [UBER, {"field": "amout", "op": "exists"}]},
            [],
            "conditions.all[1].field",
        ),
        ({"event": "expense.created"}, UBER, [], "actions"),
        ({"event": "expense.created"}, UBER, [{"type": "explode"}], "actions[0].type"),
        ({"event": "expense.created"}, UBER, [{"type": "set_category"}], "actions[0]"),
        ({"event": "expense.created"}, UBER, [{"type": "add_tags", "tags": ["ok", ""]}], "actions[0].tags[1]"),
        (
            {"event": "expense.created"},
            UBER,
            [{"type": "add_tags", "tags": ["a"]}, {"type": "contribute", "goal_id": "nope", "amount": "5"}],
            "actions[1].goal_id",
        ),
        ({"event": "expense.created"}, UBER, [{"type": "contribute", "goal_id": GOAL}], "actions[0]"),
        (
            {"event": "expense.created"},
            UBER,
            [{"type": "contribute", "goal_id": GOAL, "amount": "5", "currency": "XXQ"}],
            "actions[0].currency",
        ),
        (
            {"event": "expense.created"},
            UBER,
            [{"type": "contribute", "goal_id": GOAL, "percent": "150"}],
            "actions[0].percent",
        ),
        ({"cron": "0 9 * * *"}, None, [{"type": "set_category", "category_name": "Transport"}], "actions[0].type"),
        ({"cron": "0 9 * * *"}, None, [{"type": "contribute", "goal_id": GOAL, "percent": "10"}], "actions[0].percent"),
        ({"cron": "0 9 * * *"}, {"field": "amount", "op": "exists"}, [], "conditions.field"),
        (
            {"event": "goal.achieved"},
            None,
            [{"type": "notify", "title": "t", "message": "m", "priority": "urgent"}],
            "actions[0].priority",
        ),
        (
            {"event": "goal.achieved"},
            None,
            [{"type": "publish", "name": "x", "payload": {"a": "b" * 5000}}],
            "actions[0].payload",
        ),
        (
            {"event": "goal.achieved"},
            None,
            [{"type": "create_expense", "amount": "-1", "currency": "EUR", "description": "x"}],
            "actions[0].amount",
        ),
    ],
)
def test_a_bad_rule_is_refused_at_its_bad_part(trigger: Any, conditions: Any, actions: Any, path: str) -> None:
    with pytest.raises(RuleError) as caught:
        check(trigger, conditions, actions)
    assert caught.value.path == path


def test_a_good_rule_is_canonicalised() -> None:
    spec = check(
        {"event": "expense.created"},
        {"all": [UBER]},
        [{"type": "set_category", "category_name": " Transport "}, {"type": "add_tags", "tags": ["ride", "ride"]}],
    )
    assert spec.trigger.event_type == "expense.created"
    assert spec.actions == [
        {"type": "set_category", "category_id": None, "category_name": "Transport"},
        {"type": "add_tags", "tags": ["ride"]},
    ]
    schedule = check(
        {"cron": "0  9 * * 1"},
        {"field": "date", "op": "day_of_month", "value": 1},
        [{"type": "create_expense", "amount": "9.99", "currency": "eur", "description": "Netflix"}],
    )
    assert schedule.trigger.cron == "0 9 * * 1"
    assert schedule.actions[0]["currency"] == "EUR"


def _rule(priority: int, *, stop: bool = False, conditions: dict[str, Any] | None = None, age: int = 0) -> CompiledRule:
    return CompiledRule.build(
        id=uuid.uuid4(),
        name=f"p{priority}",
        priority=priority,
        created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=age),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        trigger="expense.created",
        conditions=conditions or UBER,
        actions=[{"type": "add_tags", "tags": ["x"]}],
        stop_processing=stop,
    )


def test_rules_run_by_priority_then_age_and_stop_processing_ends_the_run() -> None:
    first, second, third = _rule(10, age=5), _rule(20, stop=True), _rule(20, age=1)
    other = _rule(5, conditions={"field": "description", "op": "contains", "value": "taxi"})
    ordered = order([third, other, second, first])
    assert ordered == [other, first, second, third]
    rules = RuleSet([third, other, second, first])
    assert rules.matching(EXPENSE) == [first, second]
    assert rules.matching({**EXPENSE, "description": "taxi"}) == [other]


WORDS = st.sampled_from(["uber", "UBER", "taxi", "rent", "Ub", "ride", "", "é"])
INDEXED_TEST = st.fixed_dictionaries(
    {
        "field": st.sampled_from(["description", "category_name", "tags", "amount"]),
        "op": st.sampled_from(["contains", "equals", "starts_with", "ends_with"]),
        "value": WORDS,
        "case_sensitive": st.booleans(),
    }
)
OTHER_TEST = st.sampled_from(
    [
        {"field": "amount", "op": "greater_than", "value": "20"},
        {"field": "description", "op": "regex", "value": "^u"},
        {"field": "tags", "op": "in_list", "value": ["work"]},
    ]
)
RULE_CONDITIONS = st.one_of(
    INDEXED_TEST,
    OTHER_TEST,
    st.lists(st.one_of(INDEXED_TEST, OTHER_TEST), max_size=3).map(lambda items: {"all": items}),
    st.lists(INDEXED_TEST, max_size=3).map(lambda items: {"any": items}),
    INDEXED_TEST.map(lambda item: {"not": item}),
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "description": st.one_of(st.text(alphabet="uberUBERtaxié ", max_size=12), st.integers(), st.none()),
        "category_name": st.one_of(WORDS, st.none()),
        "tags": st.lists(WORDS, max_size=3),
        "amount": st.sampled_from(["10", "25.5", "uber"]),
    },
)


@settings(deadline=None)  # the machine is shared: wall-clock limits would make this flaky
@given(st.lists(st.tuples(RULE_CONDITIONS, st.booleans()), max_size=12), EVENTS)
def test_the_text_index_finds_exactly_what_evaluating_every_rule_finds(
    specs: list[tuple[dict[str, Any], bool]], data: dict[str, Any]
) -> None:
    rules = [_rule(i % 4, stop=stop, conditions=conditions, age=i) for i, (conditions, stop) in enumerate(specs)]
    expected = []
    for rule in order(rules):
        if rule.predicate(data):
            expected.append(rule)
            if rule.stop_processing:
                break
    assert RuleSet(rules).matching(data) == expected


def test_plan_turns_actions_into_requests_in_order() -> None:
    spec = check(
        {"event": "expense.created"},
        UBER,
        [
            {"type": "set_category", "category_name": "Transport"},
            {"type": "add_tags", "tags": ["work", "ride"]},
            {
                "type": "notify",
                "title": "Ride: {amount} {currency}",
                "message": "{description} on {expense_date}{nope}",
            },
            {"type": "contribute", "goal_id": GOAL, "percent": "10"},
            {"type": "create_expense", "amount": "1", "currency": "EUR", "description": "Tip for {description}"},
            {"type": "publish", "name": "ride", "payload": {"k": 1}},
        ],
    )
    planned = plan(spec.actions, ctx())
    events = [p.event for p in planned]
    category, tags, notify, contribution, created, custom = events
    assert isinstance(category, ExpenseAmendRequested) and category.category_name == "Transport"
    assert planned[0].change["before"] == {"category_id": None, "category_name": None}
    assert isinstance(tags, ExpenseAmendRequested) and tags.add_tags == ["ride"]  # "work" is already there
    assert isinstance(notify, NotificationRequested)
    assert notify.title == "Ride: 23.50 EUR" and notify.message == "Uber trip on 2026-11-23"
    assert isinstance(contribution, SavingsContributionRequested) and contribution.amount == Decimal("2.35")
    assert isinstance(created, ExpenseCreateRequested) and created.description == "Tip for Uber trip"
    assert created.expense_date == date(2026, 11, 23)
    assert isinstance(custom, AutomationCustom) and custom.payload == {"k": 1}
    assert len({category.request_id, tags.request_id, contribution.request_id, created.request_id}) == 4
    again = plan(spec.actions, ctx())
    assert [getattr(p.event, "request_id", None) for p in again] == [getattr(e, "request_id", None) for e in events]


def test_nothing_is_asked_when_nothing_would_change() -> None:
    spec = check(
        {"event": "expense.created"},
        None,
        [{"type": "set_category", "category_name": "transport"}, {"type": "add_tags", "tags": ["WORK"]}],
    )
    planned = plan(spec.actions, ctx({**EXPENSE, "category_name": "Transport"}))
    assert [p.event for p in planned] == [None, None]


def test_reversal_restores_a_previous_category_and_removes_added_tags_only() -> None:
    assert reversal({"expense_id": EXPENSE_ID, "added_tags": ["ride"]}, "add_tags") == {
        "expense_id": EXPENSE_ID,
        "remove_tags": ["ride"],
    }
    before = {"category_id": None, "category_name": "Food"}
    assert reversal({"expense_id": EXPENSE_ID, "before": before}, "set_category") == {
        "expense_id": EXPENSE_ID,
        "category_id": None,
        "category_name": "Food",
    }
    assert (
        reversal({"expense_id": EXPENSE_ID, "before": {"category_id": None, "category_name": None}}, "set_category")
        is None
    )
    assert reversal({"expense_id": EXPENSE_ID, "amount": "1"}, "create_expense") is None


@settings(deadline=None)  # the machine is shared: wall-clock limits would make this flaky
@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2),
    st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_a_percentage_contribution_is_rounded_half_even_to_the_minor_unit(
    base: Decimal, percent: Decimal, currency: str
) -> None:
    base = base.quantize(minor_unit(currency)) or minor_unit(currency)  # an amount the currency can hold
    found = contribution_amount({"percent": str(percent)}, {"amount": str(base), "currency": currency})
    exact = base * percent / 100
    if found is None:  # rounds to nothing: no contribution is asked for
        assert exact < minor_unit(currency)
        return
    amount, unit = found
    assert unit == currency
    assert amount == amount.quantize(minor_unit(currency))
    assert abs(amount - exact) <= minor_unit(currency) / 2
    assert amount <= base
