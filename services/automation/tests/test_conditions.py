"""The condition language: parsing with pointed errors, round trips, and evaluation that never raises."""

import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_automation.conditions import (
    ALWAYS,
    All,
    AnyOf,
    Check,
    Condition,
    Not,
    RuleError,
    parse,
    serialize,
)
from pfms_automation.evaluation import compile_condition, explain

UBER = {"field": "description", "op": "contains", "value": "uber"}
EXPENSE = {
    "description": "UBER *TRIP 1234",
    "amount": "23.50",
    "tags": ["Work", "travel"],
    "expense_date": "2026-11-23",
}


def holds(raw: dict[str, Any] | None, data: dict[str, Any]) -> bool:
    return compile_condition(parse(raw))(data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (UBER, True),
        ({**UBER, "case_sensitive": True}, False),
        ({"field": "description", "op": "starts_with", "value": "uber"}, True),
        ({"field": "description", "op": "ends_with", "value": "1234"}, True),
        ({"field": "description", "op": "equals", "value": "uber *trip 1234"}, True),
        ({"field": "description", "op": "not_equals", "value": "uber"}, True),
        ({"field": "description", "op": "regex", "value": r"^uber\s+\*trip \d{4}$"}, True),
        ({"field": "amount", "op": "greater_than", "value": "23.49"}, True),
        ({"field": "amount", "op": "greater_than", "value": "23.50"}, False),
        ({"field": "amount", "op": "greater_or_equal", "value": "23.5"}, True),
        ({"field": "amount", "op": "less_than", "value": 24}, True),
        ({"field": "amount", "op": "less_or_equal", "value": "23.50"}, True),
        ({"field": "amount", "op": "between", "value": ["20", "23.50"]}, True),
        ({"field": "amount", "op": "between", "value": ["23.51", "30"]}, False),
        ({"field": "tags", "op": "contains", "value": "work"}, True),
        ({"field": "tags", "op": "in_list", "value": ["TRAVEL", "food"]}, True),
        ({"field": "tags.1", "op": "equals", "value": "travel"}, True),
        ({"field": "expense_date", "op": "weekday", "value": ["monday"]}, True),  # 2026-11-23 is a Monday
        ({"field": "expense_date", "op": "weekday", "value": [6, 7]}, False),
        ({"field": "expense_date", "op": "day_of_month", "value": [23]}, True),
        ({"field": "expense_date", "op": "month", "value": 11}, True),
        ({"field": "payment_method", "op": "exists"}, False),
        ({"field": "description", "op": "exists"}, True),
        ({"all": []}, True),
        ({"any": []}, False),
        ({"not": UBER}, False),
        ({"all": [UBER, {"field": "amount", "op": "less_than", "value": "10"}]}, False),
        ({"any": [UBER, {"field": "amount", "op": "less_than", "value": "10"}]}, True),
        (None, True),
    ],
)
def test_operators(raw: dict[str, Any] | None, expected: bool) -> None:
    assert holds(raw, EXPENSE) is expected


def test_money_is_compared_as_decimal_not_float() -> None:
    assert holds({"field": "amount", "op": "equals", "value": "0.3"}, {"amount": "0.3"})
    assert holds({"field": "amount", "op": "between", "value": ["0.1", "0.3"]}, {"amount": "0.30"})
    assert not holds({"field": "amount", "op": "greater_than", "value": "0.3"}, {"amount": "0.3000"})


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"all": [UBER, UBER, {"field": "amount", "op": "bigger", "value": "1"}]}, "conditions.all[2].op"),
        ({"any": [{"not": {"field": "", "op": "exists"}}]}, "conditions.any[0].not.field"),
        ({"field": "amount", "op": "greater_than", "value": "ten"}, "conditions.value"),
        ({"field": "amount", "op": "between", "value": ["5", "x"]}, "conditions.value[1]"),
        ({"field": "amount", "op": "between", "value": ["5", "1"]}, "conditions.value"),
        ({"field": "description", "op": "regex", "value": "(unclosed"}, "conditions.value"),
        ({"field": "expense_date", "op": "weekday", "value": ["funday"]}, "conditions.value[0]"),
        ({"field": "expense_date", "op": "month", "value": 13}, "conditions.value"),
        ({"field": "tags", "op": "in_list", "value": []}, "conditions.value"),
        ({"field": "description", "op": "contains", "value": "x", "extra": 1}, "conditions.extra"),
        ({"all": [UBER], "any": []}, "conditions.any"),
        ({"all": "x"}, "conditions.all"),
        ([UBER], "conditions"),
        ({"field": "description", "op": "exists", "value": "x"}, "conditions.value"),
    ],
)
def test_errors_point_at_the_bad_part(raw: Any, path: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse(raw)
    assert caught.value.path == path


def test_fields_are_checked_against_the_trigger() -> None:
    with pytest.raises(RuleError) as caught:
        parse({"all": [{"field": "descripton", "op": "exists"}]}, fields=frozenset({"description", "amount"}))
    assert caught.value.path == "conditions.all[0].field"
    assert "description" in caught.value.message
    parse({"field": "description", "op": "exists"}, fields=frozenset({"description"}))


def test_nesting_is_bounded() -> None:
    raw: dict[str, Any] = UBER
    for _ in range(12):
        raw = {"not": raw}
    with pytest.raises(RuleError):
        parse(raw)


def test_a_catastrophic_regex_times_out_as_no_match() -> None:
    predicate = compile_condition(parse({"field": "description", "op": "regex", "value": "^(a+)+$"}))
    started = time.perf_counter()
    assert predicate({"description": "a" * 4000 + "!"}) is False
    assert time.perf_counter() - started < 1.0


def test_explain_names_each_test_and_what_it_saw() -> None:
    matched, trace = explain(
        parse({"all": [UBER, {"not": {"field": "amount", "op": "less_than", "value": "5"}}]}), EXPENSE
    )
    assert matched is True
    assert [t["path"] for t in trace] == ["conditions.all[0]", "conditions.all[1].not"]
    assert trace[0]["actual"] == EXPENSE["description"]
    assert trace[1]["matched"] is False


# --- properties -----------------------------------------------------------------------------

FIELDS = st.sampled_from(["description", "amount", "tags", "expense_date", "metadata.merchant", "missing"])
TEXT = st.text(max_size=12)
DECIMALS = st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


def _tests() -> st.SearchStrategy[Check]:
    text_ops = st.builds(
        Check,
        field=FIELDS,
        op=st.sampled_from(["equals", "not_equals", "contains", "starts_with", "ends_with"]),
        value=TEXT,
        case_sensitive=st.booleans(),
    )
    regex_ops = st.builds(
        Check, field=FIELDS, op=st.just("regex"), value=st.sampled_from(["^a", "b+$", r"\d{2}", "x|y"])
    )
    number_ops = st.builds(
        Check, field=FIELDS, op=st.sampled_from(["greater_than", "less_than", "less_or_equal"]), value=DECIMALS
    )
    between = st.tuples(DECIMALS, DECIMALS).map(lambda p: Check("amount", "between", (min(p), max(p))))
    in_list = st.lists(TEXT, min_size=1, max_size=4).map(lambda v: Check("tags", "in_list", tuple(v)))
    parts = st.lists(st.integers(1, 7), min_size=1, max_size=3).map(
        lambda v: Check("expense_date", "weekday", tuple(sorted(set(v))))
    )
    exists = st.builds(Check, field=FIELDS, op=st.just("exists"))
    return st.one_of(text_ops, regex_ops, number_ops, between, in_list, parts, exists)


CONDITIONS: st.SearchStrategy[Condition] = st.recursive(
    _tests(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: All(tuple(items))),
        st.lists(inner, max_size=3).map(lambda items: AnyOf(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=8,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | DECIMALS.map(str),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
EVENT_DATA = st.fixed_dictionaries(
    {},
    optional={
        "description": JSON,
        "amount": JSON,
        "tags": JSON,
        "expense_date": JSON | st.dates().map(str),
        "metadata": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(CONDITIONS)
def test_parse_of_serialize_is_identity(condition: Condition) -> None:
    assert parse(serialize(condition)) == condition


@settings(max_examples=300, deadline=None)
@given(CONDITIONS, EVENT_DATA)
def test_evaluation_never_raises(condition: Condition, data: dict[str, Any]) -> None:
    assert isinstance(compile_condition(condition)(data), bool)
    matched, _ = explain(condition, data)
    assert matched is compile_condition(condition)(data)


@settings(max_examples=200, deadline=None)
@given(CONDITIONS, EVENT_DATA)
def test_not_not_is_identity(condition: Condition, data: dict[str, Any]) -> None:
    assert compile_condition(Not(Not(condition)))(data) is compile_condition(condition)(data)


@settings(deadline=None)  # the machine is shared: wall-clock limits would make this flaky
@given(EVENT_DATA)
def test_empty_all_holds_and_empty_any_does_not(data: dict[str, Any]) -> None:
    assert compile_condition(All(()))(data) is True
    assert compile_condition(AnyOf(()))(data) is False
    assert compile_condition(ALWAYS)(data) is True


def test_decimal_values_survive_serialisation_exactly() -> None:
    condition = parse({"field": "amount", "op": "between", "value": ["0.10", "1E+2"]})
    assert isinstance(condition, Check)
    assert condition.value == (Decimal("0.10"), Decimal("100"))
    assert parse(serialize(condition)) == condition
