"""Kong's rate-limiting plugin with policy `local` (kong/plugins/rate-limiting/handler.lua, 3.x).

Fixed windows aligned to UTC (second/minute/hour/day), counters per plugin instance (Kong keys
them by the plugin's own route/service ids) and identifier. A request is refused once the count
already in the window reaches the limit; otherwise every window is incremented. Headers follow
Kong: X-RateLimit-Limit-<Period>/X-RateLimit-Remaining-<Period> per window, RateLimit-Limit/
-Remaining/-Reset for the most constraining one, and Retry-After on 429.
"""

from __future__ import annotations

import time

from pfms_gateway.config import PluginConf
from pfms_gateway.exchange import Exchange, Response, header_line, kong_exit

PRIORITY = 910

_WINDOWS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _num(value: float) -> bytes:
    """Numbers as Lua prints them in headers: integral values without a fraction."""
    if value.__class__ is int:
        return b"%d" % value
    return str(int(value) if value == int(value) else value).encode()


class _Window:
    __slots__ = (
        "block",
        "counts",
        "limit",
        "limit_header",
        "limit_key",
        "limit_line",
        "limit_value",
        "name",
        "ratelimit_limit_line",
        "remaining_header",
        "remaining_key",
        "remaining_prefix",
        "seconds",
        "start",
    )

    def __init__(self, name: str, limit: float) -> None:
        self.name = name
        self.limit = limit
        self.seconds = _WINDOWS[name]
        self.start = -1
        self.counts: dict[object, int] = {}
        title = name.capitalize().encode()
        self.limit_header = b"X-RateLimit-Limit-" + title
        self.remaining_header = b"X-RateLimit-Remaining-" + title
        self.limit_value = _num(limit)
        self.limit_key = self.limit_header.lower()
        self.remaining_key = self.remaining_header.lower()
        self.limit_line = header_line(self.limit_header, self.limit_value)
        self.remaining_prefix = self.remaining_header + b": "
        self.ratelimit_limit_line = header_line(b"RateLimit-Limit", self.limit_value)
        self.block: bytes | None = None
        if limit == int(limit):  # integral limits: one format for the five headers of a single window
            self.block = (
                self.limit_line
                + self.remaining_prefix.replace(b"%", b"%%")
                + b"%d\r\n"
                + self.ratelimit_limit_line
                + b"RateLimit-Remaining: %d\r\nRateLimit-Reset: %d\r\n"
            )


class RateLimitingPlugin:
    name = "rate-limiting"
    priority = PRIORITY

    def __init__(self, conf: PluginConf) -> None:
        c = conf.config
        self.windows = [_Window(p, c[p]) for p in _WINDOWS if c[p] is not None]
        self.limit_by: str = c["limit_by"]
        self.header_name = (c["header_name"] or "").lower().encode()
        self.path: str | None = c["path"]
        self.hide_headers: bool = c["hide_client_headers"]
        self.error_code = int(c["error_code"])
        self.error_message: str = c["error_message"]
        self.scope = conf.uid
        self.single = self.windows[0] if len(self.windows) == 1 else None

    def _identifier(self, ex: Exchange) -> object:
        by = self.limit_by
        ident: object = None
        if by == "header":
            ident = ex.headers.get(self.header_name)
        elif by == "ip":
            pass
        elif by == "consumer":
            ident = ex.consumer.id if ex.consumer else (ex.credential.key if ex.credential else None)
        elif by == "credential":
            ident = ex.credential.key if ex.credential else None
        elif by == "service":
            ident = ex.route.service_name if ex.route else None
        elif by == "path":
            ident = ex.path if ex.path == self.path else None
        return ident if ident is not None else ex.client_ip

    def access(self, ex: Exchange) -> Response | None:
        if self.limit_by == "header":
            ident: object = ex.headers.get(self.header_name)
            if ident is None:
                ident = ex.client_ip
        else:
            ident = self._identifier(ex)
        now = int(time.time())
        w = self.single
        if w is not None:  # the common case, one window: same result as the general path below
            start = now - now % w.seconds
            if w.start != start:
                w.start = start
                w.counts = {}
            counts = w.counts
            used = counts.get(ident, 0)
            if used >= w.limit:
                return self._refuse(w, now)
            if not self.hide_headers:
                resp_set = ex.resp_set
                if w.block is not None:
                    # all five headers in one line block; the other names map to b"" (emitted, not cleared)
                    remaining_int = w.limit - used - 1
                    resp_set[w.limit_key] = w.block % (remaining_int, remaining_int, max(1, w.seconds - (now - start)))
                    resp_set[w.remaining_key] = b""
                    resp_set[b"ratelimit-limit"] = b""
                    resp_set[b"ratelimit-remaining"] = b""
                    resp_set[b"ratelimit-reset"] = b""
                else:
                    remaining = _num(w.limit - used - 1)
                    resp_set[w.limit_key] = w.limit_line
                    resp_set[w.remaining_key] = w.remaining_prefix + remaining + b"\r\n"
                    resp_set[b"ratelimit-limit"] = w.ratelimit_limit_line
                    resp_set[b"ratelimit-remaining"] = b"RateLimit-Remaining: " + remaining + b"\r\n"
                    resp_set[b"ratelimit-reset"] = b"RateLimit-Reset: %d\r\n" % max(1, w.seconds - (now - start))
            counts[ident] = used + 1
            return None
        return self._general(ex, ident, now)

    def _refuse(self, w: _Window, now: int) -> Response:
        headers: dict[bytes, bytes] = {}
        if not self.hide_headers:
            reset = b"%d" % max(1, w.seconds - (now - w.start))
            headers = {
                w.limit_header: w.limit_value,
                w.remaining_header: b"0",
                b"RateLimit-Limit": w.limit_value,
                b"RateLimit-Remaining": b"0",
                b"RateLimit-Reset": reset,
                b"Retry-After": reset,
            }
        return kong_exit(self.error_code, {"message": self.error_message}, headers)

    def _general(self, ex: Exchange, ident: object, now: int) -> Response | None:
        stop: _Window | None = None
        usage: list[tuple[_Window, float, dict[object, int]]] = []
        for w in self.windows:
            start = now - now % w.seconds
            if w.start != start:
                w.start = start
                w.counts = {}
            counts = w.counts
            remaining = w.limit - counts.get(ident, 0)
            usage.append((w, remaining, counts))
            if remaining <= 0:
                stop = w

        headers: dict[bytes, bytes] | None = None
        reset = 0
        if not self.hide_headers:
            headers = {}
            best: tuple[float, int] | None = None
            best_limit = 0.0
            for w, remaining, _ in usage:
                current = remaining - 1 if stop is None or stop is w else remaining
                current = max(0, current)
                if best is None or current < best[0] or (current == best[0] and w.seconds > best[1]):
                    best = (current, w.seconds)
                    best_limit = w.limit
                    reset = max(1, w.seconds - (now - w.start))
                headers[w.limit_header] = w.limit_value
                headers[w.remaining_header] = _num(current)
            assert best is not None
            headers[b"RateLimit-Limit"] = _num(best_limit)
            headers[b"RateLimit-Remaining"] = _num(best[0])
            headers[b"RateLimit-Reset"] = str(reset).encode()

        if stop is not None:
            headers = headers or {}
            if not self.hide_headers:
                headers[b"Retry-After"] = str(reset).encode()
            return kong_exit(self.error_code, {"message": self.error_message}, headers)

        if headers:
            resp_set = ex.resp_set
            for name, value in headers.items():
                resp_set[name.lower()] = header_line(name, value)
        for _, _, counts in usage:
            counts[ident] = counts.get(ident, 0) + 1
        return None
