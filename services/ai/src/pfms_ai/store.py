"""The ai service's MongoDB (motor): one client per process, its collections, indexes and units of work.

A `Unit` is the MongoDB counterpart of a SQLAlchemy session in the PostgreSQL services: handlers and
routes queue their writes (and the events they emit) on it, and `commit` runs them together — inside
one multi-document transaction when the server supports them (a replica set: MongoDB, secantusdb),
otherwise one after the other, with every write keyed so that running it twice changes nothing.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

Write = InsertOne[Any] | ReplaceOne[Any] | UpdateOne | UpdateMany | DeleteOne | DeleteMany


@dataclass
class Unit:
    """Writes and events to apply together, in the order they were queued per collection."""

    writes: dict[str, list[Write]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    """Outgoing event documents (with their `_id`)."""
    inbox: list[InsertOne[Any]] = field(default_factory=list)
    stale_users: set[str] = field(default_factory=set)
    """Users whose cached figures the change outdates; dropped together once the unit commits."""
    after_commit: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    """Actions once the writes are durable, by key: a batch runs each (e.g. one user's cache drop) once."""

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
        for name, ops in self.writes.items():
            await db[name].bulk_write(ops, ordered=True, session=session)
        if self.outbox:
            # in a transaction the inbox already guarantees one application: plain inserts (cheaper);
            # without one a re-run must find its own documents there, so they are upserts
            events: list[Write] = [
                InsertOne(doc) if session else UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
                for doc in self.outbox
            ]
            await db[OUTBOX].bulk_write(events, ordered=False, session=session)
        if self.inbox:
            await db[INBOX].bulk_write(self.inbox, ordered=False, session=session)


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
