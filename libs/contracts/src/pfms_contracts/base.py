"""The CloudEvents 1.0 envelope and the base of every event payload."""

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class EventData(BaseModel):
    """An event payload. Subclasses set `type`, `version` and `exchange`; fields only grow within a version."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: ClassVar[str]
    version: ClassVar[int] = 1
    exchange: ClassVar[str]
    summary: ClassVar[str] = ""

    user_id: uuid.UUID = Field(description="The user the event is about; consumers purge by it.")
    """Market-wide events (prices, rates) override this with `user_id: None = None`."""


class CloudEvent(BaseModel):
    """CloudEvents 1.0 structured JSON, plus the `correlationid` and distributed-tracing extensions."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    correlationid: str | None = None
    causationchain: str | None = Field(
        default=None,
        description="Ids of the events that led to this one, oldest first, space-separated (loop protection).",
    )
    traceparent: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="W3C Trace Context of the request or handler that emitted the event (CloudEvents "
        "distributed-tracing extension); absent when the producer does not trace.",
    )
    tracestate: str | None = Field(
        default=None, exclude_if=lambda v: v is None, description="W3C `tracestate` that goes with `traceparent`."
    )
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        source: str,
        data: EventData,
        *,
        correlation_id: str | None = None,
        causation_chain: str | None = None,
        trace: dict[str, str] | None = None,
    ) -> "CloudEvent":
        """`trace`: the `traceparent`/`tracestate` to stamp (pfms_platform.tracing.carrier())."""
        trace = trace or {}
        return cls(
            source=source,
            type=data.type,
            subject=str(data.user_id) if data.user_id else None,
            dataschema=f"urn:pfms:event:{data.type}:v{data.version}",
            correlationid=correlation_id,
            causationchain=causation_chain,
            traceparent=trace.get("traceparent"),
            tracestate=trace.get("tracestate"),
            data=data.model_dump(mode="json"),
        )
