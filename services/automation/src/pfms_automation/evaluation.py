"""Running conditions: compiled once to closures, evaluated per event, explained for dry runs.

Evaluation never raises: a test that cannot apply to the data (a missing field, text where a number
is wanted, a regex that runs out of time) is simply false.
"""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import regex

from pfms_automation.conditions import (
    NUMBER_OPS,
    TEXT_OPS,
    All,
    AnyOf,
    Check,
    Condition,
    Not,
)

REGEX_TIMEOUT_SECONDS = 0.01
"""A pattern gets this long per event; catastrophic backtracking then just fails to match."""
MAX_TEXT = 4096
"""Text beyond this is not searched (descriptions are short; this bounds the regex work too)."""

Predicate = Callable[[dict[str, Any]], bool]

MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path ("metadata.merchant", "tags.0"), or a sentinel when absent."""
    if "." not in path:
        return data.get(path, MISSING) if isinstance(data, dict) else MISSING
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, MISSING)
        elif isinstance(current, list | tuple) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return str(value)
    return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value[:40]).date()
        except ValueError:
            return None
    return None


def _text_matcher(test: Check) -> Callable[[str], bool]:
    op, wanted = test.op, test.value
    if op == "regex":
        pattern = regex.compile(wanted, 0 if test.case_sensitive else regex.IGNORECASE)

        def search(text: str) -> bool:
            try:
                return pattern.search(text, timeout=REGEX_TIMEOUT_SECONDS) is not None
            except TimeoutError:
                return False

        return search
    fold: Callable[[str], str] = (lambda s: s) if test.case_sensitive else str.casefold
    needle = fold(wanted)
    checks: dict[str, Callable[[str], bool]] = {
        "equals": lambda s: fold(s) == needle,
        "not_equals": lambda s: fold(s) != needle,
        "contains": lambda s: needle in fold(s),
        "starts_with": lambda s: fold(s).startswith(needle),
        "ends_with": lambda s: fold(s).endswith(needle),
    }
    return checks[op]


def _compile_test(test: Check) -> Predicate:
    field, op = test.field, test.op
    if op == "exists":
        return lambda data: lookup(data, field) not in (MISSING, None)
    if op in TEXT_OPS:
        match = _text_matcher(test)
        negate = op == "not_equals"

        def text_test(data: dict[str, Any]) -> bool:
            value = lookup(data, field)
            if isinstance(value, list):  # tags: any element matches ("none matches" for not_equals)
                texts = [t for t in map(_text, value) if t is not None]
                return all(map(match, texts)) if negate else any(map(match, texts))
            text = _text(value)
            return text is not None and match(text)

        return text_test
    if op in NUMBER_OPS:
        compare = _number_matcher(op, test.value)

        def number_test(data: dict[str, Any]) -> bool:
            number = _number(lookup(data, field))
            return number is not None and compare(number)

        return number_test
    if op == "in_list":
        fold: Callable[[str], str] = (lambda s: s) if test.case_sensitive else str.casefold
        choices = frozenset(fold(v) for v in test.value)

        def in_list(data: dict[str, Any]) -> bool:
            value = lookup(data, field)
            values = value if isinstance(value, list) else [value]
            return any(t is not None and fold(t) in choices for t in map(_text, values))

        return in_list
    parts = frozenset(test.value)
    part_of: Callable[[date], int] = {
        "weekday": date.isoweekday,
        "day_of_month": lambda d: d.day,
        "month": lambda d: d.month,
    }[op]

    def date_part(data: dict[str, Any]) -> bool:
        day = _day(lookup(data, field))
        return day is not None and part_of(day) in parts

    return date_part


def _number_matcher(op: str, wanted: Any) -> Callable[[Decimal], bool]:
    if op == "between":
        low, high = wanted
        return lambda n: low <= n <= high
    return {
        "greater_than": lambda n: n > wanted,
        "greater_or_equal": lambda n: n >= wanted,
        "less_than": lambda n: n < wanted,
        "less_or_equal": lambda n: n <= wanted,
    }[op]


def compile_condition(node: Condition) -> Predicate:
    """Condition tree → one closure; done once when a user's rules are loaded."""
    if isinstance(node, Check):
        inner = _compile_test(node)

        def safe(data: dict[str, Any]) -> bool:
            try:
                return inner(data)
            except Exception:  # never let odd event data break a user's other rules
                return False

        return safe
    if isinstance(node, Not):
        item = compile_condition(node.item)
        return lambda data: not item(data)
    items = tuple(compile_condition(c) for c in node.items)
    if isinstance(node, All):

        def all_of(data: dict[str, Any]) -> bool:
            for predicate in items:  # noqa: SIM110 - no generator per call: this is the hot path
                if not predicate(data):
                    return False
            return True

        return all_of

    def any_of(data: dict[str, Any]) -> bool:
        for predicate in items:  # noqa: SIM110 - no generator per call: this is the hot path
            if predicate(data):
                return True
        return False

    return any_of


INDEXABLE = ("contains", "equals", "starts_with", "ends_with")


def required_text(node: Condition) -> list[Check] | None:
    """Text tests on top-level fields one of which must hold for the whole condition to hold, if any.

    Rules are indexed by them: most rules test a description, and one pass over those literals
    finds the few rules worth evaluating in full. An `all` needs one of its children's; an `any`
    needs one of every child's.
    """
    if isinstance(node, Check):
        return [node] if node.op in INDEXABLE and "." not in node.field else None
    if isinstance(node, All):
        for child in node.items:
            found = required_text(child)
            if found is not None:
                return found
    if isinstance(node, AnyOf) and node.items:
        alternatives: list[Check] = []
        for child in node.items:
            found = required_text(child)
            if found is None:
                return None
            alternatives.extend(found)
        return alternatives
    return None


def explain(node: Condition, data: dict[str, Any], path: str = "conditions") -> tuple[bool, list[dict[str, Any]]]:
    """Evaluate with a trace of every test (path, field, value seen, result), for the test endpoint."""
    if isinstance(node, Check):
        result = compile_condition(node)(data)
        seen = lookup(data, node.field)
        return result, [
            {
                "path": path,
                "field": node.field,
                "op": node.op,
                "actual": None if seen is MISSING else seen,
                "matched": result,
            }
        ]
    if isinstance(node, Not):
        result, trace = explain(node.item, data, f"{path}.not")
        return not result, trace
    key = "all" if isinstance(node, All) else "any"
    results, trace = [], []
    for i, child in enumerate(node.items):
        result, sub = explain(child, data, f"{path}.{key}[{i}]")
        results.append(result)
        trace.extend(sub)
    return (all(results) if key == "all" else any(results)), trace
