"""Kong's correlation-id plugin (priority 100001 in 3.x: it runs before every other plugin).

Keeps the client's id when the header is present, otherwise generates one and sends it upstream;
with echo_downstream it is set on the response, Kong's own error responses included.
"""

from __future__ import annotations

import itertools
import random
import uuid

from pfms_gateway.config import PluginConf
from pfms_gateway.exchange import Exchange, Response

PRIORITY = 100001


_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48) & ((1 << 128) - 1)
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def fast_uuid4() -> bytes:
    """A random (version 4) UUID without uuid.uuid4's object and syscall: ids for tracing, not secrets."""
    h = b"%032x" % (random.getrandbits(128) & _VERSION_MASK | _VERSION_BITS)
    return h[:8] + b"-" + h[8:12] + b"-" + h[12:16] + b"-" + h[16:20] + b"-" + h[20:]


class CorrelationIdPlugin:
    name = "correlation-id"
    priority = PRIORITY

    def __init__(self, conf: PluginConf) -> None:
        c = conf.config
        self.header = c["header_name"].encode()
        self.lower = self.header.lower()
        self.echo: bool = c["echo_downstream"]
        self.generator: str = c["generator"]
        self._worker = str(uuid.uuid4()).encode()
        self._counter = itertools.count(1)

    def _generate(self) -> bytes:
        if self.generator == "uuid":
            return fast_uuid4()
        return self._worker + b"#" + str(next(self._counter)).encode()

    def access(self, ex: Exchange) -> Response | None:
        value = ex.headers.get(self.lower)
        if value is None:
            value = self._generate()
            ex.up_set[self.lower] = self.header + b": " + value + b"\r\n"
        if self.echo:
            ex.correlation_id = value
        return None

    def header_filter(self, ex: Exchange, response: Response) -> None:
        if self.echo and ex.correlation_id is not None:
            ex.resp_set[self.lower] = self.header + b": " + ex.correlation_id + b"\r\n"
