"""The payloads of the `income.*` events, built from a transaction row (by the API and by bank imports)."""

from typing import Any

from pfms_contracts.income import IncomeDeleted
from pfms_income.models import IncomeTransaction


def facts(row: IncomeTransaction) -> dict[str, Any]:
    """The facts income.* events carry."""
    return {
        "user_id": row.user_id,
        "income_id": row.id,
        "source_id": row.income_source_id,
        "source_type": row.type,
        "amount": row.amount,
        "tax_deducted": row.tax_deducted,
        "net_amount": row.net_amount,
        "currency": row.currency,
        "received_date": row.date,
        "description": row.description or "",
        "account_id": row.account_id,
        "space_id": row.space_id,
    }


def deleted(row: IncomeTransaction) -> IncomeDeleted:
    """`income.deleted` with the transaction's last state."""
    last = facts(row)
    return IncomeDeleted(**{k: last[k] for k in IncomeDeleted.model_fields if k in last})
