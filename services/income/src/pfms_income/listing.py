"""The transaction list as ONE read-only statement on the read pool (pfms_platform.reads).

`GET /api/v1/income/transactions` is a read of the fleet mix: through the unit of work it cost BEGIN,
a count, the page and COMMIT, an ORM object and a validated `Transaction` model per row, and the
envelope validated again by `response_model`. Here the filters become fixed
SQL fragments with every value a parameter (each combination of filters is one prepared
statement), the page and its total come from one snapshot, and each row is shaped as `Transaction`
would shape it (money at its currency's minor unit) without building it.
"""

from collections.abc import Mapping
from typing import Any

from pfms_finance.currency import quantize
from pfms_income.schemas import Transaction, TransactionFilters
from pfms_platform.reads import Where, page_statement
from pfms_platform.spaces import Scope

COLUMNS = {name: f'"{name}"' for name in Transaction.model_fields} | {"source_id": "income_source_id AS source_id"}
"""`Transaction`'s fields in its order, each a column of `income_transactions` (one renamed)."""

SELECTED = ", ".join(COLUMNS.values())


def statement(scope: Scope, f: TransactionFilters) -> tuple[str, list[Any]]:
    """The page statement and its arguments: newest `sort` first by default, ties by newest, then id."""
    where = Where()
    where.scope(scope)
    if f.date_from is not None:
        where.add("date >= {}", f.date_from)
    if f.date_to is not None:
        where.add("date <= {}", f.date_to)
    if f.currency is not None:
        where.add("currency = {}", f.currency)
    if f.source_id is not None:
        where.add("income_source_id = {}", f.source_id)
    if f.type is not None:
        where.add("type = {}", f.type.value)
    if f.category is not None:
        where.add("lower(category) = {}", f.category.lower())
    if f.min_amount is not None:
        where.add("amount >= {}", f.min_amount)
    if f.max_amount is not None:
        where.add("amount <= {}", f.max_amount)
    for word in (f.q or "").split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.add("description ILIKE {}", f"%{escaped}%")  # backslash is ILIKE's default escape
    column = f.sort.lstrip("-")  # a whitelisted Literal: date, amount or net_amount
    order = f"{column} {'DESC' if f.sort.startswith('-') else 'ASC'}, created_at DESC, id"
    limit, offset = where.param(f.limit), where.param(f.offset)
    return page_statement("income_transactions", SELECTED, where.sql, order, limit, offset), where.args


def transaction(row: Mapping[str, Any]) -> dict[str, Any]:
    """A selected row as `Transaction` dumps it."""
    out = {name: row[name] for name in COLUMNS}
    for name in Transaction.money_fields:
        out[name] = quantize(out[name], out["currency"])
    return out
