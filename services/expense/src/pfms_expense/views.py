"""Rows to response dicts: money shown with its currency's minor units, as decimal strings."""

from collections.abc import Mapping
from typing import Any

from pfms_expense.models import Budget, Category, Habit, HabitLog, RecurringExpense
from pfms_expense.schemas import CategoryOut, HabitLogOut, HabitOut, RecurringOut
from pfms_expense.schemas_budgets import BudgetOut, BudgetStatus
from pfms_expense.spending import PeriodStatus
from pfms_finance.currency import quantize


def category(row: Category) -> dict[str, Any]:
    return CategoryOut(
        id=row.id,
        name=row.name,
        icon=row.icon,
        color=row.color,
        parent_id=row.parent_category_id,
        is_system=row.is_system,
        hidden=row.hidden,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


CATEGORY_COLUMNS = "id, name, icon, color, parent_category_id, is_system, hidden, created_at, updated_at"
"""What `category_row` reads: the columns behind `CategoryOut`, in its order."""


def category_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`category` of a selected row (the list route), without building the model: the same values."""
    return {
        "id": row["id"],
        "name": row["name"],
        "icon": row["icon"],
        "color": row["color"],
        "parent_id": row["parent_category_id"],
        "is_system": row["is_system"],
        "hidden": row["hidden"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


EXPENSE_FIELDS = (
    "id",
    "amount",
    "currency",
    "category_id",
    "description",
    "expense_date",
    "expense_time",
    "location",
    "payment_method",
    "account_id",
    "space_id",
    "tags",
    "attachments",
    "source",
    "recurring_expense_id",
    "import_batch_id",
    "meta",
    "created_at",
    "updated_at",
)
"""What `expense` reads: the list route selects exactly these columns instead of whole ORM rows."""


def expense(row: Any) -> dict[str, Any]:
    """An `ExpenseOut` as plain values (an ORM row or a selected row): the hot path of the list, so no
    model is built per row; money is quantized to the currency here, as everywhere."""
    return {
        "id": row.id,
        "amount": quantize(row.amount, row.currency),
        "currency": row.currency,
        "category_id": row.category_id,
        "description": row.description,
        "expense_date": row.expense_date,
        "expense_time": row.expense_time,
        "location": row.location,
        "payment_method": row.payment_method,
        "account_id": row.account_id,
        "space_id": row.space_id,
        "tags": list(row.tags),
        "attachments": list(row.attachments),
        "source": row.source,
        "recurring_expense_id": row.recurring_expense_id,
        "import_batch_id": row.import_batch_id,
        "metadata": row.meta,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def recurring(row: RecurringExpense) -> dict[str, Any]:
    return RecurringOut(
        id=row.id,
        name=row.name,
        amount=quantize(row.amount, row.currency),
        currency=row.currency,
        category_id=row.category_id,
        payment_method=row.payment_method,
        account_id=row.account_id,
        space_id=row.space_id,
        tags=list(row.tags),
        frequency=row.frequency,
        start_date=row.start_date,
        end_date=row.end_date,
        next_due_date=row.next_due_date,
        last_paid_date=row.last_paid_date,
        reminder_days=row.reminder_days,
        inflation_rate=row.inflation_rate,
        auto_pay=row.auto_pay,
        is_active=row.is_active,
        metadata=row.meta,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


def habit(row: Habit) -> dict[str, Any]:
    return HabitOut.model_validate(
        {**row_fields(row, HabitOut), "unit_cost": quantize(row.unit_cost, row.currency)}
    ).model_dump(mode="json")


def habit_log(row: HabitLog, currency: str) -> dict[str, Any]:
    return HabitLogOut.model_validate(
        {**row_fields(row, HabitLogOut), "total_cost": quantize(row.total_cost, currency)}
    ).model_dump(mode="json")


def budget_status(current: PeriodStatus) -> BudgetStatus:
    s = current.status
    return BudgetStatus(
        period_start=current.period.start,
        period_end=current.period.end,
        budget_amount=s.budget_amount,
        rollover_amount=s.rollover_amount,
        available=s.available,
        spent=s.spent,
        remaining=s.remaining,
        percent_used=s.percent_used,
        thresholds_reached=current.reached,
        unconverted=current.unconverted,
    )


def budget(row: Budget, current: PeriodStatus | None) -> dict[str, Any]:
    return BudgetOut.model_validate(
        {
            **row_fields(row, BudgetOut),
            "amount": quantize(row.amount, row.currency),
            "alert_thresholds": sorted(row.alert_thresholds),
            "current": budget_status(current) if current else None,
        }
    ).model_dump(mode="json")


def row_fields(row: Any, model: type[Any]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}
