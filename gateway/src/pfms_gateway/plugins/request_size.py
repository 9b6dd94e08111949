"""Kong's request-size-limiting plugin (kong/plugins/request-size-limiting/handler.lua, 3.x).

A Content-Length over the limit is refused before any of the body is read (417 instead of 413
when the client sent `Expect: 100-continue`); without Content-Length the body is read (the server
stops buffering at the limit) and its size checked.
"""

from __future__ import annotations

from pfms_gateway.config import PluginConf
from pfms_gateway.exchange import Defer, Exchange, Response, message

PRIORITY = 951

UNIT_BYTES = {"bytes": 1, "kilobytes": 1024, "megabytes": 1048576}


def limit_bytes(conf: PluginConf) -> int:
    return int(conf.config["allowed_payload_size"] * UNIT_BYTES[conf.config["size_unit"]])


class RequestSizePlugin:
    name = "request-size-limiting"
    priority = PRIORITY

    def __init__(self, conf: PluginConf) -> None:
        self.limit = limit_bytes(conf)
        self.require_content_length: bool = conf.config["require_content_length"]
        self._too_big = message(413, "Request size limit exceeded")
        self._too_big_expect = message(417, "Request size limit exceeded")

    def _check(self, ex: Exchange, size: int) -> Response | None:
        if size > self.limit:
            return self._too_big_expect if ex.expect_continue else self._too_big
        return None

    def access(self, ex: Exchange) -> Response | Defer | None:
        cl = ex.headers.get(b"content-length")
        if cl is not None and cl.strip().isdigit():
            return self._check(ex, int(cl))
        if self.require_content_length:
            return message(411, "A valid Content-Length header is required")
        if ex.oversize:
            return self._check(ex, self.limit + 1)
        if not ex.body_complete:
            return Defer(ex.conn.wait_body(ex))
        return self._check(ex, ex.body_size)
