"""A rule as the engine holds it: checked once on save, compiled once on load, evaluated in order.

Rules run in (priority, created_at) order; every matching rule acts unless an earlier matching
rule has `stop_processing`, as in Firefly III's rule groups. Nothing here does I/O.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pfms_automation.actions import parse_actions
from pfms_automation.conditions import Condition, RuleError, parse, serialize
from pfms_automation.evaluation import MAX_TEXT, Predicate, compile_condition, required_text
from pfms_automation.schedule import check_cron, next_fire, zone
from pfms_contracts import EVENTS

SCHEDULE = "schedule"
SCHEDULE_FIELDS = frozenset({"scheduled_for", "date", "timezone"})
"""What a scheduled run's conditions can test: the local fire time, its date and the zone."""
NOT_TRIGGERS = frozenset(
    {
        "rule.executed",  # a rule on rule runs would feed on itself
        "user.deleted",  # the user's rules are gone with it
        "user.family_invited",  # carries a single-use secret
        "space.invitation_created",  # carries a single-use secret too
        "space.membership_changed",  # the spaces read model's snapshot (pfms_platform.spaces), not a fact to act on
    }
)


def _user_events() -> dict[str, frozenset[str]]:
    """Event types a rule may trigger on (facts about one user), with their top-level fields.

    Requests (`*_requested`: commands to one service, such as the ones rules publish) are not facts
    to react to, and leaving them out keeps this service from consuming its own output.
    """
    out = {}
    for name, model in EVENTS.items():
        owner = model.model_fields.get("user_id")
        if name in NOT_TRIGGERS or name.endswith("requested") or owner is None or not owner.is_required():
            continue
        out[name] = frozenset(f for f in model.model_fields if f != "user_id")
    return out


TRIGGER_EVENTS: dict[str, frozenset[str]] = _user_events()


LIFECYCLES = (
    ("expense.created", "expense.updated", "expense.deleted"),
    ("income.received", "income.updated", "income.deleted"),
    ("group.expense.created", "group.expense.updated", "group.expense.deleted"),
)


def lifecycle(event_type: str) -> tuple[str, ...]:
    """The event types that carry the successive states of what `event_type` is about."""
    return next((family for family in LIFECYCLES if event_type in family), (event_type,))


@dataclass(frozen=True)
class Trigger:
    event_type: str | None = None
    cron: str | None = None
    timezone: str | None = None

    @property
    def name(self) -> str:
        return self.event_type or SCHEDULE

    @property
    def fields(self) -> frozenset[str] | None:
        """Fields of the trigger's data; None for a schedule as far as actions are concerned."""
        return TRIGGER_EVENTS[self.event_type] if self.event_type else None


def parse_trigger(raw: Any) -> Trigger:
    """`{"event": "expense.created"}` or `{"cron": "0 9 * * *", "timezone": "Europe/Berlin"}`."""
    if not isinstance(raw, dict):
        raise RuleError("trigger", "must be an object with `event`, or `cron` (and optionally `timezone`)")
    extra = sorted(set(raw) - {"event", "cron", "timezone"})
    if extra:
        raise RuleError(f"trigger.{extra[0]}", "unexpected key")
    if ("event" in raw) == ("cron" in raw):
        raise RuleError("trigger", "needs exactly one of `event` or `cron`")
    if "event" in raw:
        if "timezone" in raw:
            raise RuleError("trigger.timezone", "only a schedule has a time zone")
        if raw["event"] not in TRIGGER_EVENTS:
            raise RuleError("trigger.event", f"must be one of: {', '.join(sorted(TRIGGER_EVENTS))}")
        return Trigger(event_type=raw["event"])
    if not isinstance(raw["cron"], str):
        raise RuleError("trigger.cron", "must be a five-field cron expression such as '0 9 * * *'")
    tz = raw.get("timezone")
    if tz is not None:
        if not isinstance(tz, str):
            raise RuleError("trigger.timezone", "must be an IANA time zone such as Europe/Berlin")
        zone(tz, "trigger.timezone")
    cron = check_cron(raw["cron"])
    next_fire(cron, zone(tz or "UTC"), datetime.now(UTC))  # refuses a schedule that never fires
    return Trigger(cron=cron, timezone=tz)


@dataclass(frozen=True)
class RuleSpec:
    """The checked, canonical form of what a client sent."""

    trigger: Trigger
    conditions: Condition
    actions: list[dict[str, Any]]


def check(trigger: Any, conditions: Any, actions: Any) -> RuleSpec:
    """The whole rule, or RuleError naming its first bad part."""
    parsed = parse_trigger(trigger)
    fields = parsed.fields if parsed.event_type else SCHEDULE_FIELDS
    condition = parse(conditions, fields=fields)
    return RuleSpec(parsed, condition, parse_actions(actions, parsed.fields))


def trigger_json(event_type: str | None, cron: str | None, timezone: str | None) -> dict[str, Any]:
    if event_type:
        return {"event": event_type}
    return {"cron": cron, "timezone": timezone}


@dataclass(frozen=True)
class CompiledRule:
    id: uuid.UUID
    name: str
    priority: int
    created_at: datetime
    updated_at: datetime
    """The rule's version: the cache recompiles a rule only when it changes."""
    trigger: str
    condition: Condition
    predicate: Predicate
    actions: list[dict[str, Any]]
    stop_processing: bool

    @classmethod
    def build(
        cls,
        *,
        id: uuid.UUID,
        name: str,
        priority: int,
        created_at: datetime,
        updated_at: datetime,
        trigger: str,
        conditions: dict[str, Any],
        actions: list[dict[str, Any]],
        stop_processing: bool,
    ) -> "CompiledRule":
        """From stored (already checked) JSON; conditions are compiled here, once."""
        condition = parse(conditions)
        return cls(
            id,
            name,
            priority,
            created_at,
            updated_at,
            trigger,
            condition,
            compile_condition(condition),
            actions,
            stop_processing,
        )

    @property
    def conditions_json(self) -> dict[str, Any]:
        return serialize(self.condition)


def order(rules: list[CompiledRule]) -> list[CompiledRule]:
    return sorted(rules, key=lambda r: (r.priority, r.created_at, str(r.id)))


Literals = dict[tuple[str, str, bool], list[tuple[str, int]]]


class RuleSet:
    """A user's rules on one trigger, in run order, indexed by the text each one requires.

    `matching` first collects the rules whose required text (e.g. description contains "uber")
    is in the event — one pass of substring checks — plus the rules without one, then evaluates
    only those in full, in order. The index only rules out rules that could not match, so the
    result is the same as evaluating every rule.
    """

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = order(rules)
        self.unindexed: list[int] = []
        self.literals: Literals = {}
        for position, rule in enumerate(self.rules):
            checks = required_text(rule.condition)
            if checks is None:
                self.unindexed.append(position)
                continue
            for check in checks:
                needle = check.value if check.case_sensitive else check.value.casefold()
                self.literals.setdefault((check.field, check.op, check.case_sensitive), []).append((needle, position))

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, data: dict[str, Any]) -> list[int]:
        found = list(self.unindexed)
        for (field, op, case_sensitive), needles in self.literals.items():
            value = data.get(field)
            if not isinstance(value, str):  # numbers, lists (tags): decided in full
                found.extend(position for _, position in needles)
                continue
            text = value[:MAX_TEXT] if case_sensitive else value[:MAX_TEXT].casefold()
            if op == "contains":
                found.extend([position for needle, position in needles if needle in text])
            elif op == "equals":
                found.extend([position for needle, position in needles if needle == text])
            elif op == "starts_with":
                found.extend([position for needle, position in needles if text.startswith(needle)])
            else:
                found.extend([position for needle, position in needles if text.endswith(needle)])
        return sorted(set(found))

    def matching(self, data: dict[str, Any]) -> list[CompiledRule]:
        """The rules that act on `data`: each match in order, up to one that stops processing."""
        out = []
        for position in self.candidates(data):
            rule = self.rules[position]
            if rule.predicate(data):
                out.append(rule)
                if rule.stop_processing:
                    break
        return out
