"""Events of the expense service: expenses, recurring expenses, budgets."""

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData
from pfms_contracts.imported import ImportRef


class _ExpenseEvent(EventData):
    exchange: ClassVar[str] = "financial.events"


class _ExpenseFacts(_ExpenseEvent):
    """What consumers need of an expense, so that none of them reads the expense database."""

    expense_id: UUID
    amount: Decimal = Field(description="Positive amount spent, in `currency`.")
    currency: str = Field(min_length=3, max_length=3)
    category_id: UUID | None = None
    category_name: str | None = None
    expense_date: date
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    payment_method: str | None = None
    source: str = Field(default="manual", description="manual | import | recurring | …")
    recurring_expense_id: UUID | None = None
    account_id: UUID | None = Field(default=None, description="The account (accounts service) it was paid from.")
    space_id: UUID | None = Field(
        default=None, description="The shared space it belongs to (None: its creator's personal space)."
    )
    import_ref: ImportRef | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The imported bank or card transaction it was recorded from or matched to (absent: none).",
    )


class ExpenseCreated(_ExpenseFacts):
    type: ClassVar[str] = "expense.created"
    summary: ClassVar[str] = "An expense was recorded (by hand, by import or by a recurring schedule)."


class ExpenseUpdated(_ExpenseFacts):
    type: ClassVar[str] = "expense.updated"
    summary: ClassVar[str] = "An expense changed; the payload is its new state."
    previous_amount: Decimal
    previous_expense_date: date
    previous_category_id: UUID | None = None


class ExpenseDeleted(_ExpenseEvent):
    type: ClassVar[str] = "expense.deleted"
    summary: ClassVar[str] = "An expense was deleted; the payload is its last state."
    expense_id: UUID
    amount: Decimal
    currency: str
    category_id: UUID | None = None
    account_id: UUID | None = Field(default=None, description="The account it had been paid from, if any.")
    expense_date: date
    space_id: UUID | None = Field(
        default=None, description="The shared space it belongs to (None: its creator's personal space)."
    )


class RecurringExpenseChanged(_ExpenseEvent):
    type: ClassVar[str] = "expense.recurring_changed"
    summary: ClassVar[str] = (
        "A recurring expense was created, edited, paused, resumed or deleted; the payload is its schedule "
        "(consumers such as the cash-flow projection keep their own copy)."
    )
    recurring_expense_id: UUID
    amount: Decimal
    currency: str
    frequency: str = Field(description="daily | weekly | biweekly | monthly | quarterly | yearly")
    start_date: date
    next_due_date: date
    end_date: date | None = None
    inflation_rate: Decimal = Field(default=Decimal(0), description="Yearly rate, e.g. 0.03 for 3 %.")
    category_id: UUID | None = None
    description: str = ""
    active: bool = Field(description="False when paused or deleted.")
    deleted: bool = False
    space_id: UUID | None = Field(
        default=None, description="The shared space it belongs to (None: its creator's personal space)."
    )


class RecurringExpenseDue(_ExpenseEvent):
    type: ClassVar[str] = "expense.recurring_due"
    summary: ClassVar[str] = "Reminder: a recurring expense falls due in `reminder_days` days."
    recurring_expense_id: UUID
    due_date: date
    amount: Decimal
    currency: str
    description: str = ""
    reminder_days: int


class BudgetThresholdReached(_ExpenseEvent):
    type: ClassVar[str] = "budget.threshold_reached"
    summary: ClassVar[str] = "Spending in a budget period crossed an alert threshold (once per threshold per period)."
    budget_id: UUID
    budget_name: str
    threshold_percent: int
    period_start: date
    period_end: date
    budget_amount: Decimal
    spent: Decimal
    percent_used: Decimal
    currency: str
    category_id: UUID | None = None
    space_id: UUID | None = Field(
        default=None,
        description="The shared space of the budget: then one event goes to each member (`user_id`), "
        "None for a personal budget.",
    )


class ExpenseCategorized(_ExpenseEvent):
    type: ClassVar[str] = "expense.categorized"
    exchange: ClassVar[str] = "analytics.events"
    summary: ClassVar[str] = (
        "The ai service predicted a category for an uncategorised expense; the expense service applies it "
        "only if the expense is still uncategorised (a person's choice always wins)."
    )
    expense_id: UUID
    category_id: UUID | None = Field(default=None, description="The user's category, when the model knows its id.")
    category_name: str = Field(description="Used when `category_id` is unknown or no longer the user's.")
    confidence: Decimal = Field(ge=0, le=1)
    model_version: str


class ExpenseAmendRequested(_ExpenseEvent):
    type: ClassVar[str] = "expense.amend_requested"
    summary: ClassVar[str] = (
        "Another service (an automation rule) asks the expense service to set an expense's category and/or "
        "add tags; the expense service applies it and publishes `expense.updated` when anything changed."
    )
    request_id: UUID = Field(description="Idempotency key of the request.")
    expense_id: UUID
    category_id: UUID | None = None
    category_name: str | None = Field(default=None, description="Resolved among the user's categories by name.")
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list, description="Undo of an earlier amend (rule revert).")
    requested_by: str = Field(description="Who asks, e.g. automation:rule:<id>")


class ExpenseCreateRequested(_ExpenseEvent):
    type: ClassVar[str] = "expense.create_requested"
    summary: ClassVar[str] = (
        "Another service (an automation rule) asks for an expense to be recorded; it is created once, with "
        "`request_id` as its id and source `auto`."
    )
    request_id: UUID
    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    expense_date: date
    description: str = ""
    category_id: UUID | None = None
    category_name: str | None = None
    tags: list[str] = Field(default_factory=list)
    requested_by: str
