"""Events of the automation service: what each rule run did, and the events users' rules publish."""

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData


class _AutomationEvent(EventData):
    exchange: ClassVar[str] = "analytics.events"

    space_id: UUID | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The shared space whose rule ran (absent: the user's personal rule).",
    )


class RuleExecuted(_AutomationEvent):
    type: ClassVar[str] = "rule.executed"
    summary: ClassVar[str] = (
        "A user's automation rule ran on an event or a schedule: matched and acted, failed, or was stopped "
        "by loop protection."
    )
    rule_id: UUID
    rule_name: str
    execution_id: UUID
    trigger: str = Field(description="The event type that fired the rule, or `schedule`.")
    trigger_event_id: str = Field(description="Id of the event (or `schedule:<rule>:<instant>`) the rule ran on.")
    status: str = Field(description="succeeded | failed | loop_stopped")
    actions: list[str] = Field(default_factory=list, description="Types of the actions carried out, in order.")
    error: str | None = None


class AutomationCustom(_AutomationEvent):
    type: ClassVar[str] = "automation.custom"
    summary: ClassVar[str] = "An event a user's rule publishes under a name of the user's choosing."
    rule_id: UUID
    name: str = Field(max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict, description="What the rule's action put in it.")
    trigger: str = Field(description="The event type (or `schedule`) the rule ran on.")
