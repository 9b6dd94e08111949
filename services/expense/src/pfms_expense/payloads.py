"""The payloads of the events the expense service publishes, built from its rows."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated, RecurringExpenseChanged
from pfms_expense.models import Expense, RecurringExpense
from pfms_finance.currency import quantize


def facts(expense: Expense, category_name: str | None) -> dict[str, Any]:
    """What consumers need of an expense (the contract's `_ExpenseFacts`)."""
    return {
        "user_id": expense.user_id,
        "expense_id": expense.id,
        "amount": quantize(expense.amount, expense.currency),
        "currency": expense.currency,
        "category_id": expense.category_id,
        "category_name": category_name,
        "expense_date": expense.expense_date,
        "description": expense.description,
        "tags": list(expense.tags),
        "payment_method": expense.payment_method,
        "source": expense.source,
        "recurring_expense_id": expense.recurring_expense_id,
        "account_id": expense.account_id,
        "space_id": expense.space_id,
    }


def created(expense: Expense, category_name: str | None) -> ExpenseCreated:
    return ExpenseCreated(**facts(expense, category_name))


def updated(
    expense: Expense, category_name: str | None, previous: tuple[Decimal, date, uuid.UUID | None]
) -> ExpenseUpdated:
    amount, day, category = previous
    return ExpenseUpdated(
        **facts(expense, category_name),
        previous_amount=quantize(amount, expense.currency),
        previous_expense_date=day,
        previous_category_id=category,
    )


def deleted(expense: Expense) -> ExpenseDeleted:
    return ExpenseDeleted(
        user_id=expense.user_id,
        expense_id=expense.id,
        amount=quantize(expense.amount, expense.currency),
        currency=expense.currency,
        category_id=expense.category_id,
        account_id=expense.account_id,
        expense_date=expense.expense_date,
        space_id=expense.space_id,
    )


def schedule_changed(row: RecurringExpense, *, is_deleted: bool = False) -> RecurringExpenseChanged:
    """The schedule as the projection needs it; `next_due_date` falls back to the end for an ended one."""
    return RecurringExpenseChanged(
        user_id=row.user_id,
        recurring_expense_id=row.id,
        amount=quantize(row.amount, row.currency),
        currency=row.currency,
        frequency=row.frequency,
        start_date=row.start_date,
        next_due_date=row.next_due_date or row.end_date or row.start_date,
        end_date=row.end_date,
        inflation_rate=row.inflation_rate,
        category_id=row.category_id,
        description=row.name,
        active=row.is_active and row.next_due_date is not None and not is_deleted,
        deleted=is_deleted,
        space_id=row.space_id,
    )
