"""Request and response models of the automation API.

Triggers, conditions and actions arrive as JSON and are checked by the rule parser (rules.py),
which names the bad part ("conditions.all[2].op", "actions[0].goal_id") in the error envelope.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, model_validator

from pfms_platform.schemas import Body, refuse_null


class RuleCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    enabled: bool = True
    priority: int = Field(default=100, ge=0, le=1_000_000, description="Lower runs first; ties run oldest first.")
    trigger: dict[str, Any] = Field(
        description='{"event": "expense.created"} or {"cron": "0 9 * * *", "timezone": "Europe/Berlin"} '
        "(a schedule without a time zone follows the user's profile time zone)"
    )
    conditions: dict[str, Any] | None = Field(
        default=None, description='all/any/not of tests {"field", "op", "value"}; none: always'
    )
    actions: list[Any] = Field(description="Carried out in order when the conditions hold.")
    stop_processing: bool = Field(default=False, description="When this rule matches, later rules do not run.")


class RuleUpdate(Body):
    """Partial update: only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    enabled: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    trigger: dict[str, Any] | None = None
    conditions: dict[str, Any] | None = None
    actions: list[Any] | None = None
    stop_processing: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> "RuleUpdate":
        for name in ("name", "description", "enabled", "priority", "trigger", "actions", "stop_processing"):
            if name in self.model_fields_set:
                try:
                    refuse_null(getattr(self, name))
                except ValueError as exc:
                    raise ValueError(f"{name} may not be null") from exc
        return self


class Reorder(Body):
    rule_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000, description="The new run order, first first.")


class Rule(BaseModel):
    id: uuid.UUID
    space_id: uuid.UUID | None = Field(default=None, description="The shared space it belongs to; null: personal")
    name: str
    description: str
    enabled: bool
    priority: int
    trigger: dict[str, Any]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    stop_processing: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    run_count: int
    created_at: datetime
    updated_at: datetime


class SampleEvent(Body):
    event_type: str | None = Field(default=None, description="Defaults to the rule's trigger.")
    data: dict[str, Any]


class RuleTest(Body):
    """Either a sample event, or the last N remembered events of the rule's trigger (default 20)."""

    event: SampleEvent | None = None
    last: int | None = Field(default=None, ge=1, le=500)

    @model_validator(mode="after")
    def _one(self) -> "RuleTest":
        if self.event is not None and self.last is not None:
            raise ValueError("send either event or last, not both")
        return self


class ActionPreview(BaseModel):
    model_config = {"extra": "allow"}
    action: str
    requested: bool


class TestResult(BaseModel):
    event_id: str | None
    event_type: str
    event_date: date | None
    matched: bool
    conditions: list[dict[str, Any]]
    actions: list[ActionPreview]


class TestReport(BaseModel):
    rule_id: uuid.UUID
    evaluated: int
    matched: int
    results: list[TestResult]


class Apply(Body):
    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _range(self) -> "Apply":
        if self.to < self.from_:
            raise ValueError("to is before from")
        return self


class JobChangeOut(BaseModel):
    id: uuid.UUID
    event_id: str
    action: str
    request_id: uuid.UUID | None
    change: dict[str, Any]
    revertible: bool
    reverted: bool


class Job(BaseModel):
    id: uuid.UUID
    space_id: uuid.UUID | None = Field(default=None, description="The shared space it belongs to; null: personal")
    rule_id: uuid.UUID
    kind: str
    status: str
    date_from: date
    date_to: date
    events_scanned: int
    events_matched: int
    actions_requested: int
    changes_reverted: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    reverted_at: datetime | None


class JobDetail(Job):
    changes: list[JobChangeOut]


class Execution(BaseModel):
    id: uuid.UUID
    space_id: uuid.UUID | None = Field(default=None, description="The shared space it belongs to; null: personal")
    rule_id: uuid.UUID
    event_id: str
    trigger: str
    status: str
    input: dict[str, Any]
    result: dict[str, Any]
    error: str | None
    duration_ms: Decimal
    chain_depth: int
    created_at: datetime


class TriggerRequest(Body):
    event_type: str = Field(description="A trigger event type, e.g. expense.created.")
    data: dict[str, Any] = Field(description="The event's data as its contract describes it (user_id is yours).")
    event_id: str | None = Field(default=None, min_length=1, max_length=200, description="Same id, same run: once.")


class InternalTrigger(TriggerRequest):
    user_id: uuid.UUID
    causationchain: str | None = Field(default=None, max_length=4000, description="Ids of the events that led here.")


class RunOutcome(BaseModel):
    rule_id: uuid.UUID
    status: str
    actions: list[str]
    duplicate: bool


class TriggerResult(BaseModel):
    event_id: str
    executions: list[RunOutcome]
