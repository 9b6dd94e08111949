"""Insights kept in `expense_insights`: regenerated from the read model when the cached set is stale
(Redis `user:{id}:insights:latest`, dropped whenever the user's expenses change), read flags kept."""

import uuid
from datetime import UTC, datetime
from typing import Any

from bson import Decimal128
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import UpdateOne
from redis.asyncio import Redis

from pfms_ai import cache, insights, readmodel
from pfms_ai.insights import SEVERITY_ORDER, Found
from pfms_ai.settings import Settings
from pfms_ai.store import INSIGHTS

NAMESPACE = uuid.UUID("5a0f3b2e-8d1c-4f7a-9b6e-2c4d8e1f0a37")


def insight_id(user_id: uuid.UUID, key: str) -> str:
    """Stable per (user, finding): regenerating an insight keeps its id and its read flag."""
    return str(uuid.uuid5(NAMESPACE, f"{user_id}:{key}"))


def _document(user_id: uuid.UUID, found: Found) -> dict[str, Any]:
    return {
        "user_id": str(user_id),
        "insight_type": found.insight_type,
        "kind": found.kind,
        "title": found.title,
        "description": found.description,
        "severity": found.severity,
        "severity_rank": SEVERITY_ORDER[found.severity],
        "category": found.category,
        "amount": Decimal128(found.amount) if found.amount is not None else None,
        "currency": found.currency,
        "date": datetime.combine(found.day, datetime.min.time(), tzinfo=UTC) if found.day else None,
        "metadata": found.metadata,
    }


async def refresh(db: AsyncIOMotorDatabase[Any], redis: Redis, settings: Settings, user_id: uuid.UUID) -> None:
    """Recompute the user's insights unless the cached set is still current."""
    if await redis.exists(cache.insights_latest(user_id)):
        return
    spent = await readmodel.expenses(db, user_id)
    currency = readmodel.main_currency(spent, [])
    found = (
        insights.generate(
            spent,
            datetime.now(UTC).date(),
            currency,
            change_threshold=settings.insight_change_percent,
            anomaly_z=settings.insight_anomaly_z,
            duplicate_days=settings.insight_duplicate_days,
        )
        if currency
        else []
    )
    now = datetime.now(UTC)
    ids = [insight_id(user_id, f.key) for f in found]
    if found:
        await db[INSIGHTS].bulk_write(
            [
                UpdateOne(
                    {"_id": id_},
                    {
                        "$set": {**_document(user_id, f), "generated_at": now},
                        "$setOnInsert": {"is_read": False, "created_at": now},
                    },
                    upsert=True,
                )
                for id_, f in zip(ids, found, strict=True)
            ]
        )
    await db[INSIGHTS].delete_many({"user_id": str(user_id), "_id": {"$nin": ids}})
    await redis.set(cache.insights_latest(user_id), now.isoformat(), ex=settings.cache_seconds)


def to_json(doc: dict[str, Any]) -> dict[str, Any]:
    amount = doc.get("amount")
    return {
        "id": doc["_id"],
        "insight_type": doc["insight_type"],
        "kind": doc["kind"],
        "title": doc["title"],
        "description": doc["description"],
        "severity": doc["severity"],
        "category": doc.get("category"),
        "amount": str(amount.to_decimal()) if amount is not None else None,
        "currency": doc.get("currency"),
        "date": doc["date"].date().isoformat() if doc.get("date") else None,
        "metadata": doc.get("metadata", {}),
        "is_read": doc["is_read"],
        "created_at": doc["created_at"].isoformat(),
    }
