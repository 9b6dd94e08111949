"""The condition language of rules: parsed once from JSON, compiled to closures, evaluated per event.

A condition is `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a test
`{"field": "description", "op": "contains", "value": "uber"}`. Parsing checks everything a rule
could get wrong and names the bad part ("conditions.all[2].op"); evaluation never raises: a test
that cannot apply to the data (a missing field, text where a number is wanted, a regex that runs
out of time) is simply false.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Union

import regex

REGEX_TIMEOUT_SECONDS = 0.01
"""A pattern gets this long per event; catastrophic backtracking then just fails to match."""
MAX_TEXT = 4096
"""Text beyond this is not searched (descriptions are short; this bounds the regex work too)."""
MAX_DEPTH = 8
MAX_LIST = 200
MAX_PATTERN = 500

TEXT_OPS = ("equals", "not_equals", "contains", "starts_with", "ends_with", "regex")
NUMBER_OPS = ("greater_than", "greater_or_equal", "less_than", "less_or_equal", "between")
DATE_PART_OPS = ("weekday", "day_of_month", "month")
OPS = (*TEXT_OPS, *NUMBER_OPS, "in_list", "exists", *DATE_PART_OPS)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PART_RANGE = {"weekday": (1, 7), "day_of_month": (1, 31), "month": (1, 12)}


class RuleError(ValueError):
    """A rule (condition, action, trigger) that cannot be saved; `path` points at the bad part."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Check:
    field: str
    op: str
    value: Any = None
    case_sensitive: bool = False


@dataclass(frozen=True)
class All:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    item: "Condition"


Condition = Union[Check, All, AnyOf, Not]  # noqa: UP007 - a forward-referenced alias needs Union
Predicate = Callable[[dict[str, Any]], bool]

ALWAYS = All(())


# --- parsing and serialising -------------------------------------------------------------


def parse(raw: Any, path: str = "conditions", depth: int = 0, fields: frozenset[str] | None = None) -> Condition:
    """JSON → condition tree, or RuleError naming the bad part. `None` means "always".

    `fields`, when given, are the top-level fields of the trigger's event: a test of any other
    field is refused (a typo would otherwise make the rule silently never match).
    """
    if raw is None and depth == 0:
        return ALWAYS
    if depth > MAX_DEPTH:
        raise RuleError(path, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, dict):
        raise RuleError(path, "must be an object")
    for key in ("all", "any"):
        if key in raw:
            _only(raw, {key}, path)
            items = raw[key]
            if not isinstance(items, list):
                raise RuleError(f"{path}.{key}", "must be a list")
            if len(items) > MAX_LIST:
                raise RuleError(f"{path}.{key}", f"at most {MAX_LIST} conditions")
            parsed = tuple(parse(c, f"{path}.{key}[{i}]", depth + 1, fields) for i, c in enumerate(items))
            return All(parsed) if key == "all" else AnyOf(parsed)
    if "not" in raw:
        _only(raw, {"not"}, path)
        return Not(parse(raw["not"], f"{path}.not", depth + 1, fields))
    return _parse_test(raw, path, fields)


def _only(raw: dict[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise RuleError(f"{path}.{extra[0]}", "unexpected key")


def _parse_test(raw: dict[str, Any], path: str, fields: frozenset[str] | None) -> Check:
    _only(raw, {"field", "op", "value", "case_sensitive"}, path)
    field = raw.get("field")
    if not isinstance(field, str) or not field or len(field) > 100:
        raise RuleError(f"{path}.field", "must be a field path such as 'description' or 'metadata.merchant'")
    if any(not part for part in field.split(".")):
        raise RuleError(f"{path}.field", "has an empty part")
    if fields is not None and field.split(".")[0] not in fields:
        raise RuleError(f"{path}.field", f"is not a field of the trigger's event; known: {', '.join(sorted(fields))}")
    op = raw.get("op")
    if op not in OPS:
        raise RuleError(f"{path}.op", f"must be one of: {', '.join(OPS)}")
    case_sensitive = raw.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        raise RuleError(f"{path}.case_sensitive", "must be true or false")
    value = _parse_value(op, raw.get("value"), f"{path}.value", case_sensitive)
    return Check(field, op, value, case_sensitive)


def _parse_value(op: str, value: Any, path: str, case_sensitive: bool) -> Any:
    if op == "exists":
        if value is not None:
            raise RuleError(path, "takes no value")
        return None
    if op in NUMBER_OPS:
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise RuleError(path, "must be [low, high]")
            low, high = (_decimal(v, f"{path}[{i}]") for i, v in enumerate(value))
            if low > high:
                raise RuleError(path, "low is above high")
            return (low, high)
        return _decimal(value, path)
    if op in DATE_PART_OPS:
        return _date_parts(op, value, path)
    if op == "in_list":
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise RuleError(path, f"must be a list of 1 to {MAX_LIST} values")
        for i, item in enumerate(value):
            if not isinstance(item, str | int | Decimal) or isinstance(item, bool):
                raise RuleError(f"{path}[{i}]", "must be text or a number")
        return tuple(str(v) for v in value)
    if not isinstance(value, str) or len(value) > MAX_PATTERN:
        raise RuleError(path, f"must be text of at most {MAX_PATTERN} characters")
    if op == "regex":
        try:
            regex.compile(value, 0 if case_sensitive else regex.IGNORECASE)
        except regex.error as exc:
            raise RuleError(path, f"not a valid regular expression: {exc}") from exc
    return value


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RuleError(path, "must be a decimal number (as a string or an integer)")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise RuleError(path, "must be a decimal number") from exc
    if not number.is_finite():
        raise RuleError(path, "must be a finite number")
    return number


def _date_parts(op: str, value: Any, path: str) -> tuple[int, ...]:
    low, high = _PART_RANGE[op]
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > 31:
        raise RuleError(path, "must be a value or a non-empty list")
    parts = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        if op == "weekday" and isinstance(item, str) and item.lower() in WEEKDAYS:
            parts.append(WEEKDAYS.index(item.lower()) + 1)
        elif isinstance(item, int) and not isinstance(item, bool) and low <= item <= high:
            parts.append(item)
        else:
            hint = " or a weekday name" if op == "weekday" else ""
            raise RuleError(where, f"must be an integer from {low} to {high}{hint}")
    return tuple(sorted(set(parts)))


def serialize(node: Condition) -> dict[str, Any]:
    """Condition tree → its canonical JSON (what the API shows and the database keeps)."""
    if isinstance(node, All):
        return {"all": [serialize(c) for c in node.items]}
    if isinstance(node, AnyOf):
        return {"any": [serialize(c) for c in node.items]}
    if isinstance(node, Not):
        return {"not": serialize(node.item)}
    out: dict[str, Any] = {"field": node.field, "op": node.op}
    if node.op in ("between",):
        out["value"] = [str(v) for v in node.value]
    elif node.op in NUMBER_OPS:
        out["value"] = str(node.value)
    elif node.op in DATE_PART_OPS or node.op == "in_list":
        out["value"] = list(node.value)
    elif node.op != "exists":
        out["value"] = node.value
    if node.case_sensitive:
        out["case_sensitive"] = True
    return out


# --- evaluation --------------------------------------------------------------------------

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
