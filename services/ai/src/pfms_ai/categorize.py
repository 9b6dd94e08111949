"""Where categorisation models live: the global fallback (from the bundled data), per-user models and
merchant rules learned from the user's own labels, all recorded in `ml_models` / `category_rules`.

Prediction order (seed §7.5): a merchant the user has categorised by hand → that category; otherwise
the global model's probabilities blended with the user's model (weighted by how much the user has
labelled). The result carries a confidence; callers decide whether it is sure enough to act on.
"""

import asyncio
import csv
import hashlib
import pickle
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from bson import Binary
from motor.motor_asyncio import AsyncIOMotorDatabase

from pfms_ai import categorizer
from pfms_ai.categorizer import Model, Prediction
from pfms_ai.store import CATEGORY_RULES, EXPENSES, ML_MODELS
from pfms_platform.logging import get_logger

log = get_logger(__name__)

DATA_FILE = "labelled_expenses.csv"
GLOBAL_ID = "global:categorization"
RULE_CONFIDENCE = 0.97
"""A merchant the user categorised by hand is nearly certain; not 1, the user may still change it."""
MIN_USER_SAMPLES = 5
USER_TRAINING_LIMIT = 3000


@dataclass
class Categorised:
    category_name: str
    category_id: uuid.UUID | None
    confidence: float
    alternatives: list[tuple[str, float]]
    model_version: str
    source: str  # rule | user | global


@dataclass
class UserKnowledge:
    """What a user's own labels taught: a model (if enough of them), merchant rules, names → ids."""

    label_version: int
    model: Model | None
    rules: dict[str, tuple[str, uuid.UUID | None]]
    ids: dict[str, uuid.UUID]
    checked_at: float = field(default_factory=time.monotonic)

    def rule(self, description: str) -> tuple[str, uuid.UUID | None] | None:
        """The user's rule for this merchant: same first two words, or failing that the same distinctive
        first word ("STARBUCKS STORE 12" and "STARBUCKS COFFEE 0455" are one merchant)."""
        key = categorizer.merchant_key(description)
        if key in self.rules:
            return self.rules[key]
        first = key.split(" ")[0]
        if len(first) < 4:
            return None
        matches = {v for k, v in self.rules.items() if k.split(" ")[0] == first}
        return matches.pop() if len(matches) == 1 else None


def bundled_data() -> tuple[list[str], list[str], list[str], str]:
    """(features, categories, merchant groups, version) of the labelled data shipped in the package."""
    raw = resources.files("pfms_ai.data").joinpath(DATA_FILE).read_bytes()
    rows = list(csv.DictReader(raw.decode().splitlines()))
    texts = [categorizer.features(r["description"]) for r in rows]
    return (
        texts,
        [r["category"] for r in rows],
        [categorizer.merchant_key(r["description"]) for r in rows],
        ("g-" + hashlib.sha256(raw).hexdigest()[:12]),
    )


_trained: dict[str, Model] = {}
"""Global models trained in this process, by data version (several apps in one test process share them)."""


def _global_from_data() -> Model:
    texts, labels, groups, version = bundled_data()
    if version not in _trained:
        model = categorizer.train(texts, labels, groups)
        model.version = version
        _trained[version] = model
    return _trained[version]


class Categoriser:
    def __init__(
        self, db: AsyncIOMotorDatabase[Any], *, check_seconds: float = 5.0, personal_full_at: int = 40
    ) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self.personal_full_at = personal_full_at
        self.general: Model | None = None
        self._users: dict[uuid.UUID, UserKnowledge] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    async def load_global(self) -> Model:
        """Reuse the stored global model if it was trained from this data version, else train and store it."""
        _, _, _, version = bundled_data()
        doc = await self.db[ML_MODELS].find_one({"_id": GLOBAL_ID})
        model: Model
        if doc is not None and doc.get("version") == version and doc.get("blob"):
            model = pickle.loads(doc["blob"])  # noqa: S301 - written by this service only
        else:
            model = await asyncio.to_thread(_global_from_data)
            await self.db[ML_MODELS].replace_one({"_id": GLOBAL_ID}, self._document(model, None), upsert=True)
        log.info("global categoriser ready", version=model.version, accuracy=model.accuracy)
        self.general = model
        return model

    def _document(self, model: Model, user_id: uuid.UUID | None, **extra: Any) -> dict[str, Any]:
        return {
            "user_id": str(user_id) if user_id else None,
            "model_type": "categorization",
            "version": model.version,
            "accuracy": model.accuracy,
            "samples": model.samples,
            "labels": model.labels,
            "trained_at": datetime.now(UTC),
            "blob": Binary(pickle.dumps(model)),
            **extra,
        }

    def invalidate(self, user_id: uuid.UUID) -> None:
        self._users.pop(user_id, None)

    async def knowledge(self, user_id: uuid.UUID) -> UserKnowledge:
        """The user's model and rules, retrained when their labels changed since the stored model."""
        known = self._users.get(user_id)
        if known is not None and time.monotonic() - known.checked_at < self.check_seconds:
            return known
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            doc = await self.db[ML_MODELS].find_one({"_id": f"user:{user_id}"}, {"blob": 0})
            label_version = int((doc or {}).get("label_version", 0))
            if known is not None and known.label_version == label_version:
                known.checked_at = time.monotonic()
                return known
            known = await self._load_user(user_id, label_version, doc)
            self._users[user_id] = known
            return known

    async def knowledge_many(self, users: list[uuid.UUID]) -> dict[uuid.UUID, UserKnowledge]:
        """`knowledge` of many users in two reads, not two per user: the label versions of those due a
        check, then the rules of those without labels (most users of a batch). A user whose labels
        changed is loaded alone (`knowledge`: reads their labels, may retrain)."""
        now = time.monotonic()
        due = [u for u in users if u not in self._users or now - self._users[u].checked_at >= self.check_seconds]
        if not due:
            return {u: self._users[u] for u in users}
        cursor = self.db[ML_MODELS].find({"_id": {"$in": [f"user:{u}" for u in due]}}, {"label_version": 1})
        versions = {d["_id"]: int(d.get("label_version", 0)) async for d in cursor}
        unlabelled: list[uuid.UUID] = []
        labelled: list[uuid.UUID] = []
        for user in due:
            version = versions.get(f"user:{user}", 0)
            known = self._users.get(user)
            if known is not None and known.label_version == version:
                known.checked_at = now
            else:
                (labelled if version else unlabelled).append(user)
        if unlabelled:
            rules: dict[uuid.UUID, dict[str, tuple[str, uuid.UUID | None]]] = {u: {} for u in unlabelled}
            async for r in self.db[CATEGORY_RULES].find({"user_id": {"$in": [str(u) for u in unlabelled]}}):
                rules[uuid.UUID(r["user_id"])][r["merchant"]] = (r["category_name"], _uuid(r.get("category_id")))
            for user in unlabelled:
                self._users[user] = UserKnowledge(0, None, rules[user], {}, checked_at=now)
        loaded = dict(zip(labelled, await asyncio.gather(*(self.knowledge(u) for u in labelled)), strict=True))
        return {u: loaded.get(u) or self._users[u] for u in users}

    async def _load_user(self, user_id: uuid.UUID, label_version: int, doc: dict[str, Any] | None) -> UserKnowledge:
        rules = {
            r["merchant"]: (r["category_name"], _uuid(r.get("category_id")))
            async for r in self.db[CATEGORY_RULES].find({"user_id": str(user_id)})
        }
        if label_version == 0:
            return UserKnowledge(0, None, rules, {})
        labelled = (
            await self.db[EXPENSES]
            .find(
                {"user_id": str(user_id), "category_name": {"$ne": None}, "category_by": {"$ne": "ai"}},
                {"description": 1, "amount": 1, "category_name": 1, "category_id": 1},
            )
            .sort("updated_at", -1)
            .limit(USER_TRAINING_LIMIT)
            .to_list(USER_TRAINING_LIMIT)
        )
        ids: dict[str, uuid.UUID] = {}
        for row in reversed(labelled):  # the newest id for a name wins
            if row.get("category_id"):
                ids[row["category_name"]] = uuid.UUID(row["category_id"])
        model: Model | None = None
        if doc is not None and doc.get("trained_label_version") == label_version and doc.get("version"):
            stored = await self.db[ML_MODELS].find_one({"_id": f"user:{user_id}"}, {"blob": 1})
            model = pickle.loads(stored["blob"]) if stored and stored.get("blob") else None  # noqa: S301
        elif len(labelled) >= MIN_USER_SAMPLES and len({r["category_name"] for r in labelled}) >= 2:
            texts = [categorizer.features(r["description"], _decimal(r.get("amount"))) for r in labelled]
            names = [r["category_name"] for r in labelled]
            groups = [categorizer.merchant_key(r["description"]) for r in labelled]
            model = await asyncio.to_thread(categorizer.train, texts, names, groups)
            document = self._document(model, user_id, trained_label_version=label_version)
            await self.db[ML_MODELS].update_one({"_id": f"user:{user_id}"}, {"$set": document}, upsert=True)
        return UserKnowledge(label_version, model, rules, ids)

    async def categorise(self, user_id: uuid.UUID, description: str, amount: Decimal | None) -> Categorised:
        return (await self.categorise_many([(user_id, description, amount)]))[0]

    async def categorise_many(self, items: list[tuple[uuid.UUID, str, Decimal | None]]) -> list[Categorised]:
        """Categorise a batch: each user's knowledge is fetched once (concurrently), and each model scores
        all its texts in one product — a batch of events costs little more than one of them."""
        general_model = self.general
        assert general_model is not None, "load_global first"
        known = await self.knowledge_many(list(dict.fromkeys(user for user, _, _ in items)))
        users = list(known)
        general = general_model.probabilities_many([categorizer.features(d) for _, d, _ in items])
        personal: list[dict[str, float] | None] = [None] * len(items)
        for user in users:
            model = known[user].model
            if model is None:
                continue
            mine = [i for i, (u, _, _) in enumerate(items) if u == user]
            texts = [categorizer.features(items[i][1], items[i][2]) for i in mine]
            for i, probabilities in zip(mine, model.probabilities_many(texts), strict=True):
                personal[i] = probabilities
        return [
            self._decide(known[user], description, general[i], personal[i], general_model.version)
            for i, (user, description, _) in enumerate(items)
        ]

    def _decide(
        self,
        known: UserKnowledge,
        description: str,
        general: dict[str, float],
        personal: dict[str, float] | None,
        general_version: str,
    ) -> Categorised:
        rule = known.rule(description)
        if rule is not None:
            name, category_id = rule
            return Categorised(name, category_id or known.ids.get(name), RULE_CONFIDENCE, [], "rules", "rule")
        model = known.model
        weight = categorizer.personal_weight(model.samples if model else 0, full_at=self.personal_full_at)
        best: Prediction = categorizer.ranked(categorizer.blend(general, personal, weight))
        version = general_version + (f"+u-{model.version}" if model else "")
        return Categorised(
            best.label,
            known.ids.get(best.label),
            best.confidence,
            best.alternatives,
            version,
            "user" if personal else "global",
        )


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None
