"""The condition language of rules: parsed and checked from JSON, and written back (evaluation.py runs it).

A condition is `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a test
`{"field": "description", "op": "contains", "value": "uber"}`. Parsing checks everything a rule
could get wrong and names the bad part ("conditions.all[2].op"), so that evaluation has nothing
left to refuse.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Union

import regex

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

ALWAYS = All(())


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
