"""What a rule does when it matches: ordered actions, checked on save and planned without I/O.

Planning turns each action into the event that carries it out (rules reach other services only
through events) plus a description of the change it asks for, so the same plan serves a live run,
a dry run (`/test`) and a recorded, revertible apply job. Request ids are derived from the rule,
the triggering event and the action's position: a redelivered event asks for the same thing under
the same id, and the receiving service applies it once.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import regex

from pfms_automation.conditions import RuleError
from pfms_automation.evaluation import MISSING, lookup
from pfms_contracts import EventData
from pfms_contracts.automation import AutomationCustom
from pfms_contracts.expense import ExpenseAmendRequested, ExpenseCreateRequested
from pfms_contracts.notification import NotificationRequested
from pfms_contracts.savings import SavingsContributionRequested
from pfms_finance.currency import normalise_currency, quantize
from pfms_platform.schemas import small_json

ACTION_TYPES = ("notify", "set_category", "add_tags", "contribute", "create_expense", "publish")
EXPENSE_ACTIONS = ("set_category", "add_tags")
"""Actions that change the expense the triggering event is about (it must carry `expense_id`)."""
MAX_ACTIONS = 20
NOTIFY_CATEGORIES = ("expense", "income", "investment", "loan", "group", "tax", "savings", "security", "system")
PRIORITIES = ("low", "normal", "high")
NAMESPACE = uuid.UUID("6f1c8a52-4d0e-4f0b-9f55-2b7b3f1f7a11")
_PLACEHOLDER = regex.compile(r"\{([A-Za-z0-9_.]{1,100})\}")


def _text(raw: dict[str, Any], key: str, path: str, *, limit: int, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise RuleError(f"{path}.{key}", f"must be non-empty text of at most {limit} characters")
    return value.strip()


def _uuid(raw: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise RuleError(f"{path}.{key}", "must be a UUID") from exc


def _amount(raw: dict[str, Any], key: str, path: str, *, high: Decimal | None = None) -> str:
    value = raw.get(key)
    try:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidOperation
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise RuleError(f"{path}.{key}", "must be a decimal number as a string") from exc
    if not number.is_finite() or number <= 0 or (high is not None and number > high):
        limit = f" and at most {high}" if high is not None else ""
        raise RuleError(f"{path}.{key}", f"must be above 0{limit}")
    if number.as_tuple().exponent < -4 or number >= Decimal("1e15"):  # type: ignore[operator]
        raise RuleError(f"{path}.{key}", "has too many digits")
    return str(number)


def _currency(raw: dict[str, Any], key: str, path: str) -> str:
    try:
        return normalise_currency(str(raw.get(key, "")))
    except ValueError as exc:
        raise RuleError(f"{path}.{key}", str(exc)) from exc


def _tags(raw: dict[str, Any], key: str, path: str, *, required: bool) -> list[str]:
    value = raw.get(key, [] if not required else None)
    if not isinstance(value, list) or (required and not value) or len(value) > 20:
        raise RuleError(f"{path}.{key}", "must be a list of 1 to 20 tags" if required else "must be a list")
    tags = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 50:
            raise RuleError(f"{path}.{key}[{i}]", "must be text of 1 to 50 characters")
        tags.append(tag.strip())
    return list(dict.fromkeys(tags))


def _one_category(raw: dict[str, Any], path: str, *, required: bool) -> dict[str, Any]:
    category_id = _uuid(raw, "category_id", path, required=False)
    category_name = _text(raw, "category_name", path, limit=100, required=False)
    if required and (category_id is None) == (category_name is None):
        raise RuleError(path, "needs exactly one of category_id or category_name")
    return {"category_id": category_id, "category_name": category_name}


def _allowed(raw: dict[str, Any], keys: set[str], path: str) -> None:
    extra = sorted(set(raw) - keys - {"type"})
    if extra:
        raise RuleError(f"{path}.{extra[0]}", "unexpected key")


def parse_action(raw: Any, path: str, fields: frozenset[str] | None) -> dict[str, Any]:
    """One action → its canonical form. `fields` are the trigger event's fields (None: a schedule)."""
    if not isinstance(raw, dict):
        raise RuleError(path, "must be an object")
    kind = raw.get("type")
    if kind not in ACTION_TYPES:
        raise RuleError(f"{path}.type", f"must be one of: {', '.join(ACTION_TYPES)}")
    if kind in EXPENSE_ACTIONS and (fields is None or "expense_id" not in fields):
        raise RuleError(f"{path}.type", "needs a trigger event about an expense (one with expense_id)")
    out: dict[str, Any] = {"type": kind}
    if kind == "notify":
        _allowed(raw, {"title", "message", "priority", "category"}, path)
        out["title"] = _text(raw, "title", path, limit=200)
        out["message"] = _text(raw, "message", path, limit=2000)
        out["priority"] = raw.get("priority", "normal")
        if out["priority"] not in PRIORITIES:
            raise RuleError(f"{path}.priority", f"must be one of: {', '.join(PRIORITIES)}")
        out["category"] = raw.get("category", "system")
        if out["category"] not in NOTIFY_CATEGORIES:
            raise RuleError(f"{path}.category", f"must be one of: {', '.join(NOTIFY_CATEGORIES)}")
    elif kind == "set_category":
        _allowed(raw, {"category_id", "category_name"}, path)
        out.update(_one_category(raw, path, required=True))
    elif kind == "add_tags":
        _allowed(raw, {"tags"}, path)
        out["tags"] = _tags(raw, "tags", path, required=True)
    elif kind == "contribute":
        _parse_contribution(raw, path, fields, out)
    elif kind == "create_expense":
        _allowed(raw, {"amount", "currency", "description", "category_id", "category_name", "tags"}, path)
        out["amount"] = _amount(raw, "amount", path)
        out["currency"] = _currency(raw, "currency", path)
        out["description"] = _text(raw, "description", path, limit=500)
        out.update(_one_category(raw, path, required=False))
        out["tags"] = _tags(raw, "tags", path, required=False)
    else:
        _allowed(raw, {"name", "payload"}, path)
        out["name"] = _text(raw, "name", path, limit=100)
        payload = raw.get("payload", {})
        try:
            if not isinstance(payload, dict):
                raise ValueError("must be an object")
            out["payload"] = small_json(payload)
        except ValueError as exc:
            raise RuleError(f"{path}.payload", str(exc)) from exc
    return out


def _parse_contribution(raw: dict[str, Any], path: str, fields: frozenset[str] | None, out: dict[str, Any]) -> None:
    """A fixed amount, or a percentage of the triggering event's amount (e.g. save 10 % of income)."""
    _allowed(raw, {"goal_id", "amount", "percent", "currency", "note"}, path)
    out["goal_id"] = _uuid(raw, "goal_id", path)
    if ("amount" in raw) == ("percent" in raw):
        raise RuleError(path, "needs exactly one of amount or percent")
    if "amount" in raw:
        out["amount"] = _amount(raw, "amount", path)
        out["currency"] = _currency(raw, "currency", path)
    else:
        if fields is None or "amount" not in fields or "currency" not in fields:
            raise RuleError(f"{path}.percent", "needs a trigger event with an amount and a currency")
        out["percent"] = _amount(raw, "percent", path, high=Decimal(100))
    out["note"] = _text(raw, "note", path, limit=200, required=False) or ""


def parse_actions(raw: Any, fields: frozenset[str] | None) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ACTIONS:
        raise RuleError("actions", f"must be a list of 1 to {MAX_ACTIONS} actions")
    return [parse_action(a, f"actions[{i}]", fields) for i, a in enumerate(raw)]


# --- planning ---------------------------------------------------------------------------


@dataclass
class Context:
    """What an action plan is made from: whose rule, which event (by id and data), when."""

    user_id: uuid.UUID
    rule_id: uuid.UUID
    key: str
    """Idempotency key of this run: the triggering event's id (or the apply job and event)."""
    trigger: str
    data: dict[str, Any]
    today: date
    space_id: uuid.UUID | None = None
    """A space rule's space: every event it asks for carries it, so the receiver acts within that space."""

    def within(self) -> dict[str, Any]:
        """`space_id` for the requested events of a space rule; nothing for a personal one (payloads unchanged)."""
        return {} if self.space_id is None else {"space_id": self.space_id}


@dataclass
class Planned:
    action: str
    event: EventData | None
    """None when the action would change nothing (the tag is already there, the category is set)."""
    change: dict[str, Any] = field(default_factory=dict)


def request_id(key: str, index: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{key}:{index}")


def render(template: str, data: dict[str, Any]) -> str:
    """`{description}` or `{amount}` in a message becomes the event's value (empty when absent)."""

    def value(match: Any) -> str:
        found = lookup(data, match.group(1))
        return "" if found is MISSING or found is None else str(found)

    return _PLACEHOLDER.sub(value, template)


def plan(actions: list[dict[str, Any]], ctx: Context) -> list[Planned]:
    """The events a matched rule would publish, in order, with what each changes."""
    requested_by = f"automation:rule:{ctx.rule_id}"
    tags_now = [str(t) for t in ctx.data.get("tags") or [] if isinstance(t, str)]
    category_now = {"category_id": ctx.data.get("category_id"), "category_name": ctx.data.get("category_name")}
    out: list[Planned] = []
    for index, action in enumerate(actions):
        rid = request_id(ctx.key, index)
        kind = action["type"]
        if kind == "notify":
            event: EventData | None = NotificationRequested(
                user_id=ctx.user_id,
                category=action["category"],
                title=render(action["title"], ctx.data)[:200],
                message=render(action["message"], ctx.data)[:2000],
                priority=action["priority"],
                reference_type="automation_rule",
                reference_id=ctx.rule_id,
                dedupe_key=f"automation:{rid}",
                **ctx.within(),
            )
            out.append(Planned(kind, event, {"notify": action["title"]}))
        elif kind in EXPENSE_ACTIONS:
            out.append(_amend(action, ctx, rid, requested_by, category_now, tags_now))
        elif kind == "contribute":
            out.append(_contribution(action, ctx, rid, requested_by))
        elif kind == "create_expense":
            created = ExpenseCreateRequested(
                user_id=ctx.user_id,
                request_id=rid,
                amount=Decimal(action["amount"]),
                currency=action["currency"],
                expense_date=ctx.today,
                description=render(action["description"], ctx.data)[:500],
                category_id=action.get("category_id"),
                category_name=action.get("category_name"),
                tags=action["tags"],
                requested_by=requested_by,
                **ctx.within(),
            )
            out.append(Planned(kind, created, {"expense_id": str(rid), "amount": action["amount"]}))
        else:
            custom = AutomationCustom(
                user_id=ctx.user_id,
                rule_id=ctx.rule_id,
                name=action["name"],
                payload=action["payload"],
                trigger=ctx.trigger,
                **ctx.within(),
            )
            out.append(Planned(kind, custom, {"name": action["name"]}))
    return out


def _amend(
    action: dict[str, Any],
    ctx: Context,
    rid: uuid.UUID,
    requested_by: str,
    category_now: dict[str, Any],
    tags_now: list[str],
) -> Planned:
    """Set a category or add tags on the expense the event is about; the later actions see the result."""
    expense_id = ctx.data.get("expense_id")
    if not expense_id:
        return Planned(action["type"], None, {"skipped": "the event names no expense"})
    if action["type"] == "set_category":
        wanted = {"category_id": action.get("category_id"), "category_name": action.get("category_name")}
        same_id = wanted["category_id"] and wanted["category_id"] == category_now["category_id"]
        same_name = (
            wanted["category_name"]
            and str(wanted["category_name"]).casefold() == str(category_now["category_name"] or "").casefold()
        )
        before = dict(category_now)
        if same_id or same_name:
            return Planned(action["type"], None, {"expense_id": expense_id, "before": before, "after": before})
        category_now.update(wanted)
        event = ExpenseAmendRequested(
            user_id=ctx.user_id,
            request_id=rid,
            expense_id=expense_id,
            category_id=wanted["category_id"],
            category_name=wanted["category_name"],
            requested_by=requested_by,
            **ctx.within(),
        )
        return Planned(action["type"], event, {"expense_id": expense_id, "before": before, "after": dict(wanted)})
    present = {t.casefold() for t in tags_now}
    added = [t for t in action["tags"] if t.casefold() not in present]
    tags_now.extend(added)
    if not added:
        return Planned(action["type"], None, {"expense_id": expense_id, "added_tags": []})
    event = ExpenseAmendRequested(
        user_id=ctx.user_id,
        request_id=rid,
        expense_id=expense_id,
        add_tags=added,
        requested_by=requested_by,
        **ctx.within(),
    )
    return Planned(action["type"], event, {"expense_id": expense_id, "added_tags": added})


def contribution_amount(action: dict[str, Any], data: dict[str, Any]) -> tuple[Decimal, str] | None:
    """A fixed amount, or `percent` of the event's amount rounded half-even to the currency's minor unit."""
    if "amount" in action:
        return Decimal(action["amount"]), action["currency"]
    try:
        base = Decimal(str(data.get("net_amount") or data["amount"]))
        currency = normalise_currency(str(data["currency"]))
    except (KeyError, InvalidOperation, ValueError):
        return None
    amount = quantize(base * Decimal(action["percent"]) / 100, currency, ROUND_HALF_EVEN)
    return (amount, currency) if amount > 0 else None


def _contribution(action: dict[str, Any], ctx: Context, rid: uuid.UUID, requested_by: str) -> Planned:
    computed = contribution_amount(action, ctx.data)
    if computed is None:
        return Planned("contribute", None, {"skipped": "no positive amount to contribute"})
    amount, currency = computed
    event = SavingsContributionRequested(
        user_id=ctx.user_id,
        request_id=rid,
        goal_id=action["goal_id"],
        amount=amount,
        currency=currency,
        requested_by=requested_by,
        note=render(action["note"], ctx.data)[:200],
        **ctx.within(),
    )
    return Planned("contribute", event, {"goal_id": action["goal_id"], "amount": str(amount), "currency": currency})


def reversal(change: dict[str, Any], action: str) -> dict[str, Any] | None:
    """What undoes a recorded change: the amend that restores it, or None when events cannot undo it.

    A category is restored only when the expense had one before (the amend request cannot clear a
    category); added tags are removed. Created expenses, contributions, notifications and custom
    events have no undo request in the contracts, so they stay (the job reports them).
    """
    if action == "add_tags" and change.get("added_tags"):
        return {"expense_id": change["expense_id"], "remove_tags": change["added_tags"]}
    if action == "set_category":
        before = change.get("before") or {}
        if before.get("category_id") or before.get("category_name"):
            return {
                "expense_id": change["expense_id"],
                "category_id": before.get("category_id"),
                "category_name": None if before.get("category_id") else before.get("category_name"),
            }
    return None
