"""The ai service's MongoDB (motor): one client per process, its collections, indexes and units of work.

A `Unit` is the MongoDB counterpart of a SQLAlchemy session in the PostgreSQL services: handlers and
routes queue their writes (and the events they emit) on it, and `commit` runs them together — inside
one multi-document transaction when the server supports them (a replica set: MongoDB, secantusdb),
otherwise one after the other, with every write keyed so that running it twice changes nothing.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorClientSession, AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING, DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne

from pfms_platform.logging import get_logger

EXPENSES = "expenses"
INCOMES = "incomes"
ML_MODELS = "ml_models"
CATEGORY_RULES = "category_rules"
INSIGHTS = "expense_insights"
CHAT = "ai_chat_history"
ANALYTICS_CACHE = "analytics_cache"
INBOX = "inbox"
OUTBOX = "outbox"

USER_COLLECTIONS = (EXPENSES, INCOMES, ML_MODELS, CATEGORY_RULES, INSIGHTS, CHAT, ANALYTICS_CACHE)
"""Every collection holding a user's data (each document carries `user_id`): export and purge walk these."""

log = get_logger(__name__)


@dataclass(frozen=True)
class Put:
    """A whole document by its `_id`, written as an insert — the cheap write, and what a new document
    needs — or, when the unit runs with `upserts`, as a replacement of whatever is there."""

    document: dict[str, Any]

    def op(self, *, upsert: bool) -> InsertOne[Any] | ReplaceOne[Any]:
        if upsert:
            return ReplaceOne({"_id": self.document["_id"]}, self.document, upsert=True)
        return InsertOne(self.document)


Op = InsertOne[Any] | ReplaceOne[Any] | UpdateOne | UpdateMany | DeleteOne | DeleteMany
Write = Op | Put


@dataclass(frozen=True)
class Mark:
    """An event applied by a consumer: recorded in `inbox` in the same commit as its effects."""

    consumer: str
    event_id: str
    event_type: str


@dataclass
class Unit:
    """Writes and events to apply together, in the order they were queued per collection."""

    writes: dict[str, list[Write]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    """Outgoing events (`_id` = event id, exchange, routing key, payload, user id), in emission order."""
    inbox: list[Mark] = field(default_factory=list)
    stale_users: set[str] = field(default_factory=set)
    """Users whose cached figures the change outdates; dropped together once the unit commits."""
    after_commit: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    """Actions once the writes are durable, by key: a batch runs each (e.g. one user's cache drop) once."""
    upserts: bool = False
    """`Put` documents replace what is there instead of being inserted: for a retry (a document that
    already existed failed the insert: an update that arrived first) and without transactions (a crash
    part-way leaves writes a redelivery must be able to repeat)."""

    def write(self, collection: str, op: Write) -> None:
        self.writes.setdefault(collection, []).append(op)

    def merge(self, other: "Unit") -> None:
        for name, ops in other.writes.items():
            self.writes.setdefault(name, []).extend(ops)
        self.outbox.extend(other.outbox)
        self.inbox.extend(other.inbox)
        self.stale_users |= other.stale_users
        self.after_commit.update(other.after_commit)

    @property
    def empty(self) -> bool:
        return not (self.writes or self.outbox or self.inbox)

    async def apply(self, db: AsyncIOMotorDatabase[Any], session: AsyncIOMotorClientSession | None) -> None:
        """Changes first, then the events they cause, then the inbox marks: without a transaction a crash
        part-way leaves the event unmarked, so its redelivery re-runs writes that are all idempotent."""
        upsert = self.upserts or session is None
        for name, ops in self.writes.items():
            writes: list[Op] = [op.op(upsert=upsert) if isinstance(op, Put) else op for op in ops]
            await db[name].bulk_write(writes, ordered=True, session=session)
        if self.outbox:
            events = _outbox_writes(self.outbox, transaction=session is not None)
            await db[OUTBOX].bulk_write(events, ordered=False, session=session)
        if self.inbox:
            await db[INBOX].bulk_write(_inbox_writes(self.inbox), ordered=False, session=session)


def _outbox_writes(events: list[dict[str, Any]], *, transaction: bool) -> list[Op]:
    """The outbox documents of a commit. Each holds a list of events committed together, in order, and is
    keyed by the first one's id. In a transaction the inbox already guarantees one application, so a
    commit's events share ONE document: the dev MongoDB-wire server pays per document and index entry,
    so writing and marking one document per event cost more than all the rest of the pipeline. Without
    a transaction a re-run must find its own documents, so each event gets its own, upserted by its id
    (derived from the causing event's id)."""

    def document(batch: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "_id": batch[0]["_id"],
            "events": batch,
            "user_ids": sorted({e["user_id"] for e in batch if e["user_id"]}),
            "created_at": datetime.now(UTC),
            "sent_at": None,
            "published": [],
            "attempts": 0,
        }

    if transaction:
        return [InsertOne(document(events))]
    return [UpdateOne({"_id": e["_id"]}, {"$setOnInsert": document([e])}, upsert=True) for e in events]


def _inbox_writes(marks: list[Mark]) -> list[Op]:
    """One inbox document per consumer and commit; `event_id` and `event_type` are parallel arrays. The
    unique index on (consumer, event_id) is then multikey: every id is still admitted once (a commit
    repeating an id already recorded fails whole, as a transaction must), and a lookup by id finds
    the document holding it. Documents written one per event (a scalar `event_id`) still match."""
    by_consumer: dict[str, list[Mark]] = {}
    for mark in marks:
        by_consumer.setdefault(mark.consumer, []).append(mark)
    return [
        InsertOne(
            {
                "consumer": consumer,
                "event_id": [m.event_id for m in group],
                "event_type": [m.event_type for m in group],
                "received_at": datetime.now(UTC),
            }
        )
        for consumer, group in by_consumer.items()
    ]


class Store:
    """The database handle and whether it runs transactions."""

    def __init__(self, client: AsyncIOMotorClient[Any], name: str) -> None:
        self.client = client
        self.db: AsyncIOMotorDatabase[Any] = client[name]
        self.transactions = False
        self.on_stale: Callable[[set[str]], Awaitable[None]] | None = None
        self.outbox_written = asyncio.Event()
        """Set when a commit queued events: wakes the outbox relay at once (MongoDB has no LISTEN/NOTIFY)."""

    async def prepare(self) -> None:
        """Indexes (idempotent) and the transaction capability of the server."""
        hello = await self.db.command("hello")
        self.transactions = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
        db = self.db
        await db[INBOX].create_index([("consumer", ASCENDING), ("event_id", ASCENDING)], unique=True)
        await db[OUTBOX].create_index([("sent_at", ASCENDING), ("created_at", ASCENDING)])
        await db[EXPENSES].create_index([("user_id", ASCENDING), ("expense_date", DESCENDING)])
        await db[INCOMES].create_index([("user_id", ASCENDING), ("received_date", DESCENDING)])
        await db[ML_MODELS].create_index([("user_id", ASCENDING)])
        await db[CATEGORY_RULES].create_index([("user_id", ASCENDING), ("merchant", ASCENDING)], unique=True)
        await db[INSIGHTS].create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
        await db[CHAT].create_index([("user_id", ASCENDING), ("session_id", ASCENDING), ("timestamp", ASCENDING)])
        await db[ANALYTICS_CACHE].create_index("expires_at", expireAfterSeconds=0)
        await db[ANALYTICS_CACHE].create_index([("user_id", ASCENDING), ("cache_key", ASCENDING)], unique=True)

    async def commit(self, unit: Unit) -> None:
        """Apply a unit atomically where the server can; callers run after-commit actions themselves."""
        if unit.empty:
            return
        if not self.transactions:
            await unit.apply(self.db, None)
        else:

            async def body(session: AsyncIOMotorClientSession) -> None:
                await unit.apply(self.db, session)

            async with await self.client.start_session() as session:
                await session.with_transaction(body)
        if unit.outbox:
            self.outbox_written.set()
        actions = list(unit.after_commit.values())
        if unit.stale_users and self.on_stale is not None:
            actions.append(partial(self.on_stale, unit.stale_users))
        for outcome in await asyncio.gather(*(action() for action in actions), return_exceptions=True):
            if isinstance(outcome, BaseException):  # a cache left warm only lives until its TTL
                log.warning("after-commit action failed", error=str(outcome)[:200])


async def open_store(app: FastAPI) -> None:
    settings = app.state.settings
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(
        settings.mongo_url, serverSelectionTimeoutMS=2000, tz_aware=True
    )
    app.state.mongo = client
    app.state.store = store = Store(client, settings.mongo_database)
    app.state.mongo_db = store.db
    await store.prepare()


async def close_store(app: FastAPI) -> None:
    app.state.mongo.close()


async def check_mongo(request: Request) -> None:
    await request.app.state.mongo_db.command("ping")
