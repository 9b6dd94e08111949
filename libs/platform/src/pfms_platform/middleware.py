"""Correlation ids: taken from the gateway's X-Correlation-ID (or minted) and echoed back."""

import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pfms_platform.logging import correlation_id

HEADER = b"x-correlation-id"


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

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, cid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            correlation_id.reset(token)
