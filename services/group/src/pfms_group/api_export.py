"""The ledger export: expenses, write-offs and confirmed settlements of a group, as CSV or JSON."""

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from pfms_finance.currency import quantize
from pfms_group import access
from pfms_group.api_expenses import expenses_out
from pfms_group.models import GroupExpense, Settlement, SettlementStatus
from pfms_platform.db import Session
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/groups", tags=["group expenses"])


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


LEDGER_COLUMNS = [
    "date",
    "kind",
    "id",
    "description",
    "category",
    "amount",
    "currency",
    "fx_rate",
    "group_amount",
    "group_currency",
    "paid_by",
    "shares",
]


@router.get("/{group_id}/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
async def export(
    group_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    format: Annotated[ExportFormat, Query()] = ExportFormat.CSV,
) -> Response:
    """The whole ledger (expenses and confirmed settlements) by date, as CSV or JSON."""
    group, _ = await access.member(session, group_id, user)
    rows = list(
        (
            await session.scalars(
                select(GroupExpense)
                .where(GroupExpense.group_id == group_id)
                .order_by(GroupExpense.expense_date, GroupExpense.created_at, GroupExpense.id)
            )
        ).all()
    )
    lines: list[dict[str, Any]] = []
    for e in await expenses_out(session, group, rows):
        lines.append(
            {
                "date": e["expense_date"],
                "kind": e["kind"],
                "id": e["id"],
                "description": e["description"],
                "category": e["category"],
                "amount": e["amount"],
                "currency": e["currency"],
                "fx_rate": e["fx_rate"],
                "group_amount": e["group_amount"],
                "group_currency": group.currency,
                "paid_by": e["payers"],
                "shares": e["shares"],
            }
        )
    settled = await session.scalars(
        select(Settlement)
        .where(Settlement.group_id == group_id, Settlement.status == SettlementStatus.COMPLETED.value)
        .order_by(Settlement.settlement_date, Settlement.created_at)
    )
    for s in settled:
        amount = str(quantize(s.amount, group.currency))
        lines.append(
            {
                "date": s.settlement_date.isoformat(),
                "kind": "settlement",
                "id": str(s.id),
                "description": s.notes or "Settlement",
                "category": None,
                "amount": amount,
                "currency": s.currency,
                "fx_rate": "1",
                "group_amount": amount,
                "group_currency": group.currency,
                "paid_by": [{"user_id": str(s.from_user_id), "amount": amount}],
                "shares": [{"user_id": str(s.to_user_id), "amount": amount}],
            }
        )
    lines.sort(key=lambda line: line["date"])
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    name = f"group-{group.id}-ledger-{stamp}.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format is ExportFormat.JSON:
        body = json.dumps({"group_id": str(group.id), "currency": group.currency, "entries": lines})
        return Response(body, media_type="application/json", headers=headers)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LEDGER_COLUMNS)
    writer.writeheader()
    for line in lines:
        writer.writerow(
            {
                **line,
                "paid_by": ";".join(f"{p['user_id']}:{p['amount']}" for p in line["paid_by"]),
                "shares": ";".join(f"{p['user_id']}:{p['amount']}" for p in line["shares"]),
            }
        )
    return Response(out.getvalue(), media_type="text/csv", headers=headers)
