"""Request context: the correlation id (from the gateway's X-Correlation-ID, or minted) is set for
logs and events, echoed back, and still present when an unexpected error becomes a 500."""

import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pfms_platform.errors import error_body
from pfms_platform.logging import correlation_id, get_logger

HEADER = b"x-correlation-id"

log = get_logger(__name__)


class CorrelationIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER), "")
        cid = value[:128] if value else str(uuid.uuid4())
        token = correlation_id.set(cid)
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (HEADER, cid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # The one place an unexpected error is turned into a 500: no traceback leaves the service.
            log.exception("unhandled error", path=scope["path"], method=scope["method"])
            if started:
                raise
            body = orjson.dumps(error_body(500, "Internal server error"))
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            correlation_id.reset(token)
