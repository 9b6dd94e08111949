"""Events the ai service consumes: its read model of expenses and income, labels to learn from, and
uncategorised expenses to categorise (publishing `expense.categorized`). Every handler only queues
keyed writes on the unit, so applying an event twice leaves the same state."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bson import Decimal128
from pymongo import DeleteMany, DeleteOne, UpdateOne
from redis.asyncio import Redis

from pfms_ai import cache, categorizer
from pfms_ai.categorize import Categorised, Categoriser
from pfms_ai.inbox import MongoHandler
from pfms_ai.outbox import emit
from pfms_ai.store import (
    ANALYTICS_CACHE,
    CATEGORY_RULES,
    EXPENSES,
    INCOMES,
    ML_MODELS,
    USER_COLLECTIONS,
    Put,
    Unit,
)
from pfms_contracts.expense import ExpenseCategorized, ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeDeleted, IncomeReceived, IncomeUpdated

CONFIDENCE_PLACES = Decimal("0.0001")


def day(value: date) -> datetime:
    """Dates are stored as UTC midnights (BSON has no date-only type)."""
    return datetime.combine(value, time(), tzinfo=UTC)


def money(value: Decimal) -> Decimal128:
    return Decimal128(value)


@dataclass
class Deps:
    """What the handlers need besides the event: passed by the consumer as its context."""

    categoriser: Categoriser
    redis: Redis
    min_confidence: Decimal
    source: str
    prepared: dict[uuid.UUID, Categorised] = field(default_factory=dict)

    async def prepare(self, batch: list[Any]) -> None:
        """Categorise a batch's uncategorised expenses in one go before its handlers run (they pick the
        results up); one user's knowledge is read once per batch, each model scores once."""
        todo = [d for d in batch if isinstance(d, ExpenseCreated) and not _labelled(d)]
        guesses = await self.categoriser.categorise_many([(d.user_id, d.description, d.amount) for d in todo])
        self.prepared = {d.expense_id: g for d, g in zip(todo, guesses, strict=True)}


def _changed(deps: Deps, unit: Unit, user_id: uuid.UUID, *, labels: bool = False, gone: bool = False) -> None:
    """Cached figures go stale; with new labels the user's model is retrained on its next use."""
    if labels and not gone:
        unit.write(
            ML_MODELS,
            UpdateOne(
                {"_id": f"user:{user_id}"},
                {"$inc": {"label_version": 1}, "$set": {"user_id": str(user_id), "model_type": "categorization"}},
                upsert=True,
            ),
        )

    unit.stale_users.add(str(user_id))

    async def relearn() -> None:
        deps.categoriser.invalidate(user_id)

    if labels or gone:
        unit.after_commit[f"model:{user_id}"] = relearn


def _labelled(data: ExpenseCreated) -> bool:
    return data.category_name is not None or data.category_id is not None


def _expense(data: ExpenseCreated | ExpenseUpdated) -> dict[str, Any]:
    return {
        "user_id": str(data.user_id),
        "amount": money(data.amount),
        "currency": data.currency,
        "category_id": str(data.category_id) if data.category_id else None,
        "category_name": data.category_name,
        "expense_date": day(data.expense_date),
        "description": data.description,
        "merchant": categorizer.merchant_key(data.description),
        "tags": list(data.tags),
        "source": data.source,
        "updated_at": datetime.now(UTC),
    }


async def expense_created(deps: Deps, unit: Unit, data: ExpenseCreated) -> None:
    doc = _expense(data)
    labelled = _labelled(data)
    doc["category_by"] = "user" if labelled else None
    if not labelled:
        guess = deps.prepared.pop(data.expense_id, None) or await deps.categoriser.categorise(
            data.user_id, data.description, data.amount
        )
        confidence = Decimal(repr(guess.confidence)).quantize(CONFIDENCE_PLACES, ROUND_HALF_EVEN)
        doc["prediction"] = {
            "category_name": guess.category_name,
            "category_id": str(guess.category_id) if guess.category_id else None,
            "confidence": float(confidence),
            "model_version": guess.model_version,
            "source": guess.source,
            "published": confidence >= deps.min_confidence,
        }
        if confidence >= deps.min_confidence:
            emit(
                unit,
                ExpenseCategorized(
                    user_id=data.user_id,
                    expense_id=data.expense_id,
                    category_id=guess.category_id,
                    category_name=guess.category_name,
                    confidence=confidence,
                    model_version=guess.model_version,
                ),
                source=deps.source,
            )
    unit.write(EXPENSES, Put({"_id": str(data.expense_id), **doc}))
    _changed(deps, unit, data.user_id, labels=labelled)


async def expense_updated(deps: Deps, unit: Unit, data: ExpenseUpdated) -> None:
    """A category set or changed by a person is a label; one that only applies our own prediction is not."""
    doc = _expense(data)
    current = await deps.categoriser.db[EXPENSES].find_one({"_id": str(data.expense_id)}, {"prediction": 1})
    predicted = ((current or {}).get("prediction") or {}).get("category_name")
    category_changed = data.category_id != data.previous_category_id
    human = category_changed and data.category_name is not None
    if human and data.previous_category_id is None and predicted == data.category_name:
        human = False
        doc["category_by"] = "ai"
    elif data.category_name is not None and category_changed:
        doc["category_by"] = "user"
    if human:
        merchant = categorizer.merchant_key(data.description)
        if merchant:
            unit.write(
                CATEGORY_RULES,
                UpdateOne(
                    {"user_id": str(data.user_id), "merchant": merchant},
                    {
                        "$set": {
                            "category_name": data.category_name,
                            "category_id": str(data.category_id) if data.category_id else None,
                            "learned_from": str(data.expense_id),
                            "updated_at": datetime.now(UTC),
                        }
                    },
                    upsert=True,
                ),
            )
    unit.write(EXPENSES, UpdateOne({"_id": str(data.expense_id)}, {"$set": doc}, upsert=True))
    _changed(deps, unit, data.user_id, labels=human)


async def expense_deleted(deps: Deps, unit: Unit, data: ExpenseDeleted) -> None:
    unit.write(EXPENSES, DeleteOne({"_id": str(data.expense_id), "user_id": str(data.user_id)}))
    _changed(deps, unit, data.user_id)


async def income_changed(deps: Deps, unit: Unit, data: IncomeReceived) -> None:
    doc = {
        "user_id": str(data.user_id),
        "net_amount": money(data.net_amount),
        "currency": data.currency,
        "received_date": day(data.received_date),
        "source_type": data.source_type,
        "description": data.description,
        "updated_at": datetime.now(UTC),
    }
    unit.write(INCOMES, UpdateOne({"_id": str(data.income_id)}, {"$set": doc}, upsert=True))
    _changed(deps, unit, data.user_id)


async def income_deleted(deps: Deps, unit: Unit, data: IncomeDeleted) -> None:
    unit.write(INCOMES, DeleteOne({"_id": str(data.income_id), "user_id": str(data.user_id)}))
    _changed(deps, unit, data.user_id)


async def user_deleted(deps: Deps, unit: Unit, data: UserDeleted) -> None:
    for name in USER_COLLECTIONS:
        unit.write(name, DeleteMany({"user_id": str(data.user_id)}))
    _changed(deps, unit, data.user_id, gone=True)


def reads_nothing_written(data: Any) -> bool:
    """Whether handling this event reads nothing the handling of earlier events writes, so that its batch
    may be prepared while the previous one commits: a new expense only reads the categoriser's models
    (whose changes the consumer waits for), where an update reads the stored prediction."""
    return isinstance(data, ExpenseCreated)


HANDLERS: dict[str, MongoHandler] = {
    ExpenseCreated.type: expense_created,
    ExpenseUpdated.type: expense_updated,
    ExpenseDeleted.type: expense_deleted,
    IncomeReceived.type: income_changed,
    IncomeUpdated.type: income_changed,
    IncomeDeleted.type: income_deleted,
    UserDeleted.type: user_deleted,
}


async def forget_caches(deps: Deps, users: set[str]) -> None:
    """Cached figures of these users are outdated: the Redis keys and the analytics cache go, in one
    round trip each for a whole batch."""
    await cache.forget_many(deps.redis, [uuid.UUID(u) for u in users])
    await deps.categoriser.db[ANALYTICS_CACHE].delete_many({"user_id": {"$in": sorted(users)}})
