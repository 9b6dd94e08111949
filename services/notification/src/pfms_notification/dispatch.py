"""Background jobs: send due deliveries, call due webhooks, send daily digests.

Each job claims due rows with `FOR UPDATE SKIP LOCKED`, so replicas share the work and never send
the same row twice at once; a failure is written back with its next try (exponential backoff) until
the last try marks it `failed` (webhooks: `parked`, replayable by the owner).
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_notification import domain, signing, ssrf
from pfms_notification.channels import EmailSender, PushSender, Sender, SendError, SmsSender
from pfms_notification.models import Delivery, Notification, Recipient, WebhookDelivery, WebhookEndpoint
from pfms_notification.planner import recipient_of
from pfms_notification.settings import Settings
from pfms_platform.db import Database
from pfms_platform.errors import Invalid
from pfms_platform.logging import get_logger
from pfms_platform.metrics import NOTIFICATIONS_SENT

log = get_logger(__name__)

Clock = Callable[[], datetime]
CLAIM = 50


def system_clock() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(self, db: Database, settings: Settings, clock: Clock = system_clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.http = httpx.AsyncClient(timeout=settings.send_timeout_seconds, follow_redirects=False)
        self.senders: dict[str, Sender] = {
            "email": EmailSender(settings),
            "push": PushSender(settings, self.http),
            "sms": SmsSender(settings, self.http),
        }

    async def close(self) -> None:
        await self.http.aclose()

    async def send_due(self) -> int:
        """Send up to CLAIM due deliveries; returns how many were tried."""
        now = self.clock()
        async with self.db.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(Delivery)
                    .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                    .order_by(Delivery.next_attempt_at)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            # Mail and SMS go out side by side; push reads and prunes device tokens through the session, one at a time.
            alone = [r for r in rows if self.senders[r.channel].uses_session]
            await asyncio.gather(*(self._attempt(session, r, now) for r in rows if r not in alone))
            for row in alone:
                await self._attempt(session, row, now)
            return len(rows)

    async def _attempt(self, session: AsyncSession, row: Delivery, now: datetime) -> None:
        s = self.settings
        row.attempts += 1
        try:
            await self.senders[row.channel].send(session, row)
        except SendError as exc:
            tries = s.delivery_max_attempts if exc.permanent else row.attempts
            row.status, row.next_attempt_at = domain.after_failure(
                tries, s.delivery_max_attempts, now, s.delivery_retry_base_seconds
            )
            row.last_error = str(exc)[:500]
            log.warning("delivery failed", channel=row.channel, attempt=row.attempts, status=row.status)
        else:
            row.status, row.sent_at, row.last_error = "sent", now, None
            NOTIFICATIONS_SENT.labels(s.service_name, row.channel).inc()

    async def call_due_webhooks(self) -> int:
        now = self.clock()
        s = self.settings
        async with self.db.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(WebhookDelivery, WebhookEndpoint)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(CLAIM)
                    .with_for_update(of=WebhookDelivery, skip_locked=True)
                )
            ).all()
            for row, endpoint in rows:
                row.attempts += 1
                try:
                    row.response_status = await self.call(endpoint, row.event)
                except SendError as exc:
                    status, row.next_attempt_at = domain.after_failure(
                        row.attempts, s.webhook_max_attempts, now, s.webhook_retry_base_seconds
                    )
                    row.status = "parked" if status == "failed" else status
                    row.last_error = str(exc)[:500]
                else:
                    row.status, row.delivered_at, row.last_error = "delivered", now, None
                    NOTIFICATIONS_SENT.labels(s.service_name, "webhook").inc()
            return len(rows)

    async def call(self, endpoint: WebhookEndpoint, event: dict[str, Any]) -> int:
        """POST one CloudEvent to the endpoint's vetted, pinned address, signed; the status if 2xx."""
        try:
            target = await ssrf.resolve(endpoint.url, allow_loopback_http=self.settings.webhook_allow_loopback_http)
        except Invalid as exc:
            raise SendError(exc.message) from exc
        if endpoint.mode == "binary":
            body = orjson.dumps(event["data"])
            headers = {"content-type": "application/json"}
            headers.update({f"ce-{k}": str(v) for k, v in event.items() if k != "data" and v is not None})
        else:
            body = orjson.dumps(event)
            headers = {"content-type": "application/cloudevents+json"}
        headers.update(signing.headers(endpoint.secret, str(event["id"]), int(time.time()), body))
        headers["host"] = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        try:
            response = await self.http.post(
                target.pinned_url, content=body, headers=headers, extensions={"sni_hostname": target.host}
            )
        except httpx.HTTPError as exc:
            raise SendError(f"webhook: {exc!r}") from exc
        if not response.is_success:
            raise SendError(f"HTTP {response.status_code}")
        return response.status_code

    async def send_digests(self) -> int:
        """One mail per person who chose the digest, listing the items held back; once a local day."""
        now = self.clock()
        async with self.db.sessions() as session, session.begin():
            users = (
                await session.scalars(select(Delivery.user_id).where(Delivery.status == "digest").distinct())
            ).all()
            sent = 0
            for person in await session.scalars(select(Recipient).where(Recipient.user_id.in_(users))):
                if domain.digest_due(now, recipient_of(person), person.last_digest_on, self.settings.digest_hour):
                    await self._digest(session, person, now)
                    sent += 1
            return sent

    async def _digest(self, session: AsyncSession, person: Recipient, now: datetime) -> None:
        held = (
            await session.execute(
                select(Delivery, Notification)
                .join(Notification, Notification.id == Delivery.notification_id)
                .where(Delivery.user_id == person.user_id, Delivery.status == "digest")
                .order_by(Notification.created_at)
                .with_for_update(of=Delivery)
            )
        ).all()
        items = {n.id: n for _d, n in held}
        for delivery, _n in held:
            delivery.status = "digested"
        person.last_digest_on = now.astimezone(domain.zone(person.timezone)).date()
        if not person.email or not items:
            return
        lines = [f"- {n.title}: {n.message}" for n in items.values()]
        digest = Notification(
            id=uuid.uuid4(),
            user_id=person.user_id,
            category="system",
            key="digest",
            title=f"Your daily digest ({len(items)})",
            message="\n".join(lines)[:2000],
            priority="low",
            data={},
            in_app=False,
            created_at=now,
        )
        session.add(digest)
        await session.flush()
        session.add(
            Delivery(
                id=uuid.uuid4(),
                notification_id=digest.id,
                user_id=person.user_id,
                channel="email",
                status="pending",
                subject=digest.title,
                body="Hello,\n\nWhat happened while you were away:\n\n" + "\n".join(lines) + "\n\n-- PFMS",
                address=person.email,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def job(step: Callable[["Dispatcher"], Awaitable[int]], every: Callable[[Settings], float]) -> Any:
    """A background loop for `create_app`: run `step` until it finds nothing, then wait."""

    async def loop(app: FastAPI) -> None:
        dispatcher: Dispatcher = app.state.dispatcher
        while True:
            running = asyncio.ensure_future(step(dispatcher))
            try:
                busy = await asyncio.shield(running) >= CLAIM
            except asyncio.CancelledError:
                # Shutting down: let the round in flight finish its transaction rather than cut it mid-query.
                await asyncio.wait([running], timeout=5)
                raise
            except Exception as exc:  # database or provider trouble: try again next round
                log.warning("dispatch job failed", job=step.__name__, error=repr(exc)[:300])
                busy = False
            if not busy:
                await asyncio.sleep(every(dispatcher.settings))

    return loop


JOBS = [
    job(Dispatcher.send_due, lambda s: s.dispatch_interval_seconds),
    job(Dispatcher.call_due_webhooks, lambda s: s.dispatch_interval_seconds),
    job(Dispatcher.send_digests, lambda s: max(s.dispatch_interval_seconds, 1.0) * 30),
]
