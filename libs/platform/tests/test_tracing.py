"""Traces across HTTP and RabbitMQ with real servers: a request to service A, which calls service B
over HTTP and emits an event B consumes (B's handler emits one more), is one trace with the right
parent chain; the envelope carries the context; spans leave by OTLP/HTTP; with tracing off, nothing
is installed and no envelope gets a `traceparent`."""

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated, UserUpdated
from pfms_devservers import Stack
from pfms_platform import tracing
from pfms_platform.app import create_app
from pfms_platform.db import Base, Session
from pfms_platform.envelope import ok
from pfms_platform.events.outbox import emit
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.internal import InternalClient
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.helpers import served, until
from pfms_platform.testing.keys import TestKeys

pytestmark = pytest.mark.integration


# --- the two services -------------------------------------------------------------------------


async def react(session: AsyncSession, data: UserCreated) -> None:
    """B's handler: reacts by emitting, so the trace must go on through B's consumer span."""
    await emit(session, UserUpdated(user_id=data.user_id, section="profile", changes={"first_name": "T"}))


def b_routes(seen: list[str | None]) -> APIRouter:
    router = APIRouter()

    @router.get("/internal/v1/echo/{user_id}")
    async def echo(user_id: uuid.UUID, request: Request) -> dict[str, Any]:
        seen.append(request.headers.get("traceparent"))
        return ok({"user_id": str(user_id)})

    return router


def a_routes() -> APIRouter:
    router = APIRouter()

    @router.post("/probe/{user_id}")
    async def probe(user_id: uuid.UUID, request: Request, session: Session) -> dict[str, Any]:
        answer = await request.app.state.b.get(f"/internal/v1/echo/{user_id}")
        await emit(session, UserCreated(user_id=user_id, email="t@example.com", created_at=datetime.now(UTC)))
        return ok(answer)

    return router


@dataclass
class Pair:
    a: FastAPI
    b: FastAPI
    client: httpx.AsyncClient
    seen: list[str | None] = field(default_factory=list)

    async def outbox(self, app: FastAPI, routing_key: str, *, sent: bool = True) -> list[dict[str, Any]]:
        query = select(OutboxEvent.payload).where(OutboxEvent.routing_key == routing_key)
        if sent:
            query = query.where(OutboxEvent.sent_at.is_not(None))
        async with app.state.db.sessions() as session:
            return list((await session.scalars(query)).all())


async def _database(stack: Stack, name: str) -> str:
    await _admin(stack, f'CREATE DATABASE "{name}"')
    engine = create_async_engine(stack.postgres.url(name))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__, InboxEvent.__table__])
    await engine.dispose()
    return stack.postgres.url(name)


@asynccontextmanager
async def pair(stack: Stack, jwt_keys: TestKeys, endpoint: str) -> AsyncIterator[Pair]:
    """Services `probe-a` and `probe-b` on their own databases and one vhost; B served on a loopback port."""
    tag = uuid.uuid4().hex[:8]
    vhost, databases = f"trace_{tag}", [f"trace_a_{tag}", f"trace_b_{tag}"]
    stack.rabbitmq.add_vhost(vhost)
    common: dict[str, Any] = {
        "environment": "test",
        "amqp_url": stack.rabbitmq.url(vhost),
        "redis_url": stack.redis.url(0),
        "jwks_url": jwt_keys.url,
        "otel_exporter_otlp_endpoint": endpoint,
    }
    seen: list[str | None] = []
    b_settings = ServiceSettings(service_name="probe-b", database_url=await _database(stack, databases[1]), **common)
    b = create_app(b_settings, title="probe-b", routers=[b_routes(seen)], handlers={UserCreated.type: react})
    async with AsyncExitStack() as stack_:
        await stack_.enter_async_context(LifespanManager(b))
        await b.state.consumer.ready.wait()
        b_url = await stack_.enter_async_context(served(b))
        a_settings = ServiceSettings(
            service_name="probe-a",
            database_url=await _database(stack, databases[0]),
            service_urls={"probe-b": b_url},
            **common,
        )

        async def open_b(app: FastAPI) -> None:
            app.state.b = InternalClient(a_settings, target="probe-b", attempts=1)

        async def close_b(app: FastAPI) -> None:
            await app.state.b.aclose()

        a = create_app(a_settings, title="probe-a", routers=[a_routes()], on_startup=[open_b], on_shutdown=[close_b])
        manager = await stack_.enter_async_context(LifespanManager(a))
        client = await stack_.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://probe-a")
        )
        yield Pair(a, b, client, seen)
    stack.rabbitmq.delete_vhost(vhost)
    for name in databases:
        await _admin(stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Collector:
    """A tiny OTLP/HTTP receiver on loopback: keeps the bodies POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        bodies = self.bodies

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf":
                    bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests(self) -> list[ExportTraceServiceRequest]:
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            found.append(request)
        return found


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiver = Collector()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def recorded(app: FastAPI) -> InMemorySpanExporter:
    """Also keep the app's finished spans in memory (beside its OTLP export)."""
    memory = InMemorySpanExporter()
    provider: TracerProvider = app.state.tracer_provider
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


def one(spans: list[ReadableSpan], kind: SpanKind, name: str | None = None) -> ReadableSpan:
    found = [s for s in spans if s.kind is kind and (name is None or s.name == name)]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def traceparent_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return w3c(span.context)


def w3c(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


# --- tests --------------------------------------------------------------------------------------


async def test_a_request_through_two_services_and_the_bus_is_one_trace(
    stack: Stack, jwt_keys: TestKeys, collector: Collector
) -> None:
    async with pair(stack, jwt_keys, collector.url) as p:
        a_spans, b_spans = recorded(p.a), recorded(p.b)
        user_id = uuid.uuid4()
        response = await p.client.post(f"/probe/{user_id}")
        assert response.status_code == 200, response.text

        async def relayed() -> bool:
            return bool(await p.outbox(p.a, "user.created")) and bool(await p.outbox(p.b, "user.updated"))

        await until(relayed, timeout=20)
        created = (await p.outbox(p.a, "user.created"))[0]
        updated = (await p.outbox(p.b, "user.updated"))[0]
        a_finished, b_finished = list(a_spans.get_finished_spans()), list(b_spans.get_finished_spans())

    server = one(a_finished, SpanKind.SERVER, "POST /probe/{user_id}")
    assert server.parent is None and server.context is not None
    trace_id = server.context.trace_id
    assert {s.context.trace_id for s in a_finished + b_finished if s.context} == {trace_id}

    # HTTP: A's client span is the child of its request, B's request the child of that call
    call = one(a_finished, SpanKind.CLIENT)
    b_server = one(b_finished, SpanKind.SERVER, "GET /internal/v1/echo/{user_id}")
    assert parent_id(call) == span_id(server) and parent_id(b_server) == span_id(call)
    assert p.seen == [traceparent_of(call)]

    # events: the envelope holds the request's context; the relay's publish and B's processing descend from it
    assert created["traceparent"] == traceparent_of(server)
    publish = one(a_finished, SpanKind.PRODUCER)
    process = one(b_finished, SpanKind.CONSUMER)
    assert parent_id(publish) == span_id(server) and parent_id(process) == span_id(server)
    assert publish.name == "publish user.events" and process.name == "process user.events"
    for span in (publish, process):
        attributes = dict(span.attributes or {})
        assert attributes["messaging.system"] == "rabbitmq"
        assert attributes["messaging.destination.name"] == "user.events"
        assert attributes["messaging.rabbitmq.destination.routing_key"] == "user.created"
        assert attributes["messaging.message.id"] == created["id"]

    # what B's handler emitted carries B's consumer span onwards, and B's relay publishes under it
    assert updated["traceparent"] == traceparent_of(process)
    assert parent_id(one(b_finished, SpanKind.PRODUCER)) == span_id(process)
    assert CloudEvent.model_validate(updated).traceparent == updated["traceparent"]

    # OTLP/HTTP: both services' spans reached the collector as protobuf, under their service names
    exported: dict[str, set[str]] = {}
    for request in collector.requests():
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            names = {s.name for scope in resource_spans.scope_spans for s in scope.spans}
            exported.setdefault(resource["service.name"], set()).update(names)
    assert {"POST /probe/{user_id}", "publish user.events"} <= exported["probe-a"]
    assert {"GET /internal/v1/echo/{user_id}", "process user.events"} <= exported["probe-b"]


async def test_with_tracing_off_nothing_is_installed_and_no_envelope_carries_a_context(
    stack: Stack, jwt_keys: TestKeys
) -> None:
    async with pair(stack, jwt_keys, "") as p:
        assert p.a.state.tracer_provider is None and p.b.state.tracer_provider is None
        assert tracing.provider("probe-a") is None and p.a.state.bus.tracer is None
        assert not isinstance(trace.get_tracer_provider(), TracerProvider)
        user_id = uuid.uuid4()
        response = await p.client.post(f"/probe/{user_id}", headers={"traceparent": f"00-{'1' * 32}-{'2' * 16}-01"})
        assert response.status_code == 200, response.text

        async def relayed() -> bool:
            return bool(await p.outbox(p.b, "user.updated"))

        await until(relayed, timeout=20)
        created = (await p.outbox(p.a, "user.created"))[0]
        updated = (await p.outbox(p.b, "user.updated"))[0]
    assert "traceparent" not in created and "tracestate" not in created
    assert "traceparent" not in updated
    assert p.seen == [None], "an untraced service passes no traceparent on"


def test_setup_needs_an_endpoint_and_appends_the_traces_path() -> None:
    assert tracing.setup(ServiceSettings(service_name="quiet")) is None
    assert tracing.traces_url("http://jaeger:4318") == "http://jaeger:4318/v1/traces"
    assert tracing.traces_url("http://jaeger:4318/v1/traces/") == "http://jaeger:4318/v1/traces"


def test_the_carrier_is_empty_outside_a_span_and_the_w3c_context_inside_one() -> None:
    assert tracing.carrier() == {}
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("work") as span:
        fields = tracing.carrier()
    context = span.get_span_context()
    assert fields == {
        "traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    }
    event = CloudEvent.wrap("t", UserCreated(user_id=uuid.uuid4(), email="c@example.com", created_at=datetime.now(UTC)))
    assert "traceparent" not in event.model_dump(mode="json")
