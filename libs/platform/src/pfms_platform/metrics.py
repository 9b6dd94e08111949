"""Prometheus metrics: requests by route template, method and status, a latency histogram, the event
bus (published; consumed by outcome, failed and rejected ones included; outbox lag; dead-letter queue
depth) and business counters.

Every series carries a `service` label, so the fleet's dashboards and alerts group by it whichever
way the metrics are scraped (compose's static targets, Kubernetes pod annotations).
"""

import asyncio
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pfms_platform.db import Database
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.logging import get_logger

log = get_logger(__name__)

REQUESTS = Counter("http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),  # 30: p95 > 10 s is measurable
)
EVENTS_PUBLISHED = Counter("events_published_total", "Events published by the outbox relay", ["service", "type"])
EVENTS_CONSUMED = Counter(
    "events_consumed_total",
    "Event deliveries handled by consumers, by outcome: applied; duplicate (already in the inbox); failed (the"
    " handler raised, the event is redelivered); dead_lettered (the handler raised on the last allowed delivery:"
    " the event is parked); rejected (not a valid event: parked at once)",
    ["service", "type", "outcome"],
)
OUTBOX_LAG = Gauge("outbox_pending_events", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST = Gauge(
    "outbox_oldest_pending_seconds", "Age of the oldest outbox row not yet published (0 when none waits)", ["service"]
)
DLQ_DEPTH = Gauge("dead_letter_queue_messages", "Messages parked in the service's dead-letter queue", ["service"])

# Business counters: what the fleet does for its users, beside how its machinery behaves.
EXPENSES_CREATED = Counter(
    "expenses_created_total",
    "Expenses recorded, by origin: api, request (another service asked), recurring, import",
    ["service", "origin"],
)
INCOME_RECORDED = Counter("income_recorded_total", "Income entries recorded", ["service"])
NOTIFICATIONS_SENT = Counter("notifications_sent_total", "Notifications delivered, by channel", ["service", "channel"])

REFRESH_SECONDS = 2.0
"""How long a scrape waits for each I/O-backed gauge (Prometheus gives a whole scrape 10 s)."""


async def measure_outbox(db: Database, service: str) -> None:
    """Unpublished outbox rows and the age of the oldest (`ix_outbox_pending` serves both)."""
    async with db.sessions() as session:
        pending, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxEvent.created_at)).where(OutboxEvent.sent_at.is_(None))
            )
        ).one()
    OUTBOX_LAG.labels(service).set(pending or 0)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    OUTBOX_OLDEST.labels(service).set(max(age, 0.0))


async def measure_dead_letters(connection: AbstractRobustConnection | None, queue: str, service: str) -> None:
    """Messages in the dead-letter queue, from a passive declare on a short-lived channel (its declare-ok
    counts the ready messages, which in a queue nobody consumes are all of them)."""
    if connection is None:
        raise ConnectionError("broker not connected")
    channel = await connection.channel()
    try:
        parked = await channel.declare_queue(queue, passive=True)
        DLQ_DEPTH.labels(service).set(parked.declaration_result.message_count or 0)
    finally:
        await channel.close()


def _measurements(state: Any) -> list[partial[Coroutine[Any, Any, None]]]:
    """The I/O-backed gauges of this app: its relay's outbox (the PostgreSQL one; the ai service's MongoDB
    relay keeps its own count), its consumer's dead-letter queue."""
    found: list[partial[Coroutine[Any, Any, None]]] = []
    relay = getattr(state, "relay", None)
    if isinstance(db := getattr(relay, "db", None), Database):
        found.append(partial(measure_outbox, db, state.relay.service))
    if (consumer := getattr(state, "consumer", None)) is not None:
        connection = consumer.bus.connection
        found.append(partial(measure_dead_letters, connection, f"{consumer.queue}.dlq", consumer.service))
    return found


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/items/{id}`), set in the scope by the router; keeps
    the label set small whatever ids clients send."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"


class MetricsMiddleware:
    """Pure ASGI so it costs little on the hot path."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - start)


async def metrics_endpoint(request: Request) -> Response:
    """Measure the I/O-backed gauges first, each bounded in time: taken at scrape time they are current even
    while the relay is stuck (broker down), exactly when they matter. One that fails keeps its last value,
    and the scrape still answers with everything else."""
    for measure in _measurements(request.app.state):
        try:
            await asyncio.wait_for(measure(), REFRESH_SECONDS)
        except Exception as exc:  # database or broker gone: the service-down and lag alerts cover it
            log.warning("metric measurement failed", measure=measure.func.__name__, error=str(exc)[:200])
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
