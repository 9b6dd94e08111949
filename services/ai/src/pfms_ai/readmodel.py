"""The user's expenses and income as this service holds them (from events), in plain values."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from pfms_ai.store import EXPENSES, INCOMES

UNCATEGORISED = "Uncategorised"


@dataclass(frozen=True)
class Spent:
    id: str
    amount: Decimal
    currency: str
    category: str
    day: date
    description: str
    merchant: str


@dataclass(frozen=True)
class Earned:
    id: str
    amount: Decimal
    currency: str
    day: date
    source_type: str


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _category(doc: dict[str, Any]) -> str:
    if doc.get("category_name"):
        return str(doc["category_name"])
    prediction = doc.get("prediction") or {}
    return str(prediction["category_name"]) if prediction.get("published") else UNCATEGORISED


async def expenses(db: AsyncIOMotorDatabase[Any], user_id: uuid.UUID) -> list[Spent]:
    """All of the user's expenses, oldest first (a category we published counts until the user's own arrives)."""
    docs = await db[EXPENSES].find({"user_id": str(user_id)}).sort("expense_date", 1).to_list(None)
    return [
        Spent(
            str(d["_id"]),
            _decimal(d["amount"]),
            d["currency"],
            _category(d),
            d["expense_date"].date(),
            d.get("description", ""),
            d.get("merchant", ""),
        )
        for d in docs
    ]


async def incomes(db: AsyncIOMotorDatabase[Any], user_id: uuid.UUID) -> list[Earned]:
    docs = await db[INCOMES].find({"user_id": str(user_id)}).sort("received_date", 1).to_list(None)
    return [
        Earned(str(d["_id"]), _decimal(d["net_amount"]), d["currency"], d["received_date"].date(), d["source_type"])
        for d in docs
    ]


def main_currency(spent: list[Spent], earned: list[Earned]) -> str | None:
    """The currency most of the history is in: figures are computed in it, other currencies left out."""
    counts = Counter([s.currency for s in spent] + [e.currency for e in earned])
    return counts.most_common(1)[0][0] if counts else None
