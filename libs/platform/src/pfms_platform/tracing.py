"""OpenTelemetry traces across HTTP and RabbitMQ, exported over OTLP/HTTP; off unless an endpoint is set.

With `otel_exporter_otlp_endpoint` empty nothing is installed: no tracer provider, no middleware, no
instrumented client, and `carrier()` finds no span, so emitted events carry no trace context. With
it set, each service gets its own provider (its catalogue name as `service.name`; a provider per
service rather than the process-global one, so services started side by side in one test process
stay apart), and:

- every request gets a SERVER span named by its route template, continuing the caller's W3C
  `traceparent` (FastAPI instrumentation);
- `InternalClient` calls get CLIENT spans and send `traceparent` on (httpx instrumentation);
- `emit` stores the current context in the event's envelope (the CloudEvents distributed-tracing
  attributes `traceparent`/`tracestate`), so the relay, which publishes later in another task, and
  the consumers, in other services, continue the trace of the request or handler that emitted it:
  the relay's PRODUCER span and the consumer's CONSUMER span are children of that context, and what a
  handler emits carries the consumer span onwards.
"""

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pfms_platform.settings import ServiceSettings

TRACE_FIELDS = ("traceparent", "tracestate")
"""The envelope attributes (CloudEvents distributed-tracing extension) that carry the W3C context."""

UNTRACED_URLS = "/health,/ready,/metrics"
"""Probes and scrapes: frequent, and nothing to follow across services."""

EXPORT_TIMEOUT_SECONDS = 5.0

_w3c = TraceContextTextMapPropagator()
_providers: dict[str, TracerProvider] = {}


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector's base endpoint (`http://jaeger:4318` → `…/v1/traces`)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def setup(settings: ServiceSettings) -> TracerProvider | None:
    """The service's tracer provider exporting to the configured collector, or None when tracing is off."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.namespace": "pfms",
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)))
    exporter = OTLPSpanExporter(
        endpoint=traces_url(settings.otel_exporter_otlp_endpoint), timeout=EXPORT_TIMEOUT_SECONDS
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _providers[settings.service_name] = provider
    return provider


def provider(service: str) -> TracerProvider | None:
    """The provider `setup` made for `service` in this process, if tracing is on for it."""
    return _providers.get(service)


def tracer(provider: TracerProvider | None) -> Tracer | None:
    return provider.get_tracer("pfms_platform") if provider is not None else None


async def shutdown(service: str, provider: TracerProvider) -> None:
    """Export what is still buffered and stop (the exporter blocks on HTTP, so off the event loop)."""
    if _providers.get(service) is provider:
        del _providers[service]
    await asyncio.to_thread(provider.shutdown)


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """SERVER spans per request, named by route template; a caller's `traceparent` is continued."""
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=UNTRACED_URLS, exclude_spans=["receive", "send"]
    )


def instrument_client(client: Any, service: str) -> None:
    """CLIENT spans for an httpx client of `service`, with `traceparent` sent on; nothing when tracing is off."""
    found = provider(service)
    if found is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=found)


def carrier() -> dict[str, str]:
    """The current span's W3C context as envelope attributes; empty outside a span (tracing off)."""
    fields: dict[str, str] = {}
    if trace.get_current_span().get_span_context().is_valid:
        _w3c.inject(fields)
    return fields


@contextmanager
def messaging_span(
    tracer: Tracer | None,
    kind: SpanKind,
    trace_fields: Mapping[str, Any],
    *,
    exchange: str,
    routing_key: str,
    event_id: str,
    source: str | None = None,
) -> Iterator[None]:
    """A PRODUCER (publish) or CONSUMER (process) span for one event, child of the context its envelope
    got at emit time (`trace_fields`: the envelope, or its `traceparent`/`tracestate`), with the
    messaging semantic conventions' attributes; nothing when tracing is off."""
    if tracer is None:
        yield
        return
    producing = kind is SpanKind.PRODUCER
    operation = "publish" if producing else "process"
    parent = _w3c.extract({k: str(trace_fields[k]) for k in TRACE_FIELDS if trace_fields.get(k)})
    attributes = {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "send" if producing else "process",
        "messaging.operation.name": operation,
        "messaging.destination.name": exchange,
        "messaging.rabbitmq.destination.routing_key": routing_key,
        "messaging.message.id": event_id,
        "cloudevents.event_id": event_id,
        "cloudevents.event_type": routing_key,
        "cloudevents.event_source": source or "",
    }
    with tracer.start_as_current_span(f"{operation} {exchange}", context=parent, kind=kind, attributes=attributes):
        yield
