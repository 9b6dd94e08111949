"""Events of the savings service: goals reached and contributions asked for by other services."""

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData


class _SavingsEvent(EventData):
    exchange: ClassVar[str] = "financial.events"


class SavingsContributionRequested(_SavingsEvent):
    type: ClassVar[str] = "savings.contribution_requested"
    summary: ClassVar[str] = (
        "Another service (an automation rule) asks for a contribution to one of the user's goals; the savings "
        "service records it once per `request_id`."
    )
    request_id: UUID
    goal_id: UUID
    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    requested_by: str = Field(description="Who asks, e.g. automation:rule:<id>")
    note: str = ""
    space_id: UUID | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The goal is a shared space's: `user_id` must be a member who may write there.",
    )


class _GoalEvent(_SavingsEvent):
    goal_id: UUID
    goal_name: str
    target_amount: Decimal
    saved_amount: Decimal
    currency: str = Field(min_length=3, max_length=3)
    space_id: UUID | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The goal is a shared space's (`user_id` is the member who created it); absent: personal.",
    )


class GoalMilestoneReached(_GoalEvent):
    type: ClassVar[str] = "goal.milestone_reached"
    summary: ClassVar[str] = "A savings goal passed 25, 50 or 75 % of its target (once per milestone)."
    milestone_percent: int = Field(description="25 | 50 | 75")


class GoalAchieved(_GoalEvent):
    type: ClassVar[str] = "goal.achieved"
    summary: ClassVar[str] = "A savings goal reached its target (once)."
    achieved_on: date
