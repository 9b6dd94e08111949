"""Kong 3.x `traditional_compatible` path routing, for routes that match on paths only.

Kong normalises the request path first (percent-decoding unreserved characters, removing dot
segments, merging slashes), then ranks candidate routes: regex paths (`~...`, anchored at the
start) above plain prefixes, regex routes by `regex_priority`, prefixes by length, so the longest
matching prefix wins. Each path of a route is ranked on its own, as Kong does when it splits a
route's paths by length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_SLASHES = re.compile(r"/{2,}")


def _pct(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, as Kong's uri.normalize applies it."""
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        elif seg == ".":
            if last:
                out.append("")
        else:
            out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def normalize_path(path: str) -> str:
    """Kong's request-path normalisation (kong.tools.uri.normalize with merge_slashes)."""
    if "%" not in path and "/." not in path and "//" not in path:
        return path
    if "%" in path:
        path = _PCT.sub(_pct, path)
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if "/." in path:
        path = _remove_dot_segments(path)
    return path


def path_priority(path: str, regex_priority: int = 0) -> tuple[int, int, int]:
    """The part of Kong's ATC priority that path-only routes differ in."""
    if path.startswith("~"):
        return (1, regex_priority, 0)
    return (0, 0, len(path))


def compile_regex(path: str) -> re.Pattern[str]:
    """Kong strips the `~` and anchors the regex at the start of the path."""
    return re.compile("^(?:" + path[1:] + ")")


class Router(Generic[T]):
    """Picks the target of the highest-priority path matching a normalised request path."""

    def __init__(self, entries: Iterable[tuple[str, int, T]], cache_size: int = 4096) -> None:
        ranked: list[tuple[tuple[int, int, int], int, str, T]] = []
        for order, (path, regex_priority, target) in enumerate(entries):
            ranked.append((path_priority(path, regex_priority), -order, path, target))
        ranked.sort(key=lambda e: (e[0], e[1]), reverse=True)
        self._matchers: list[tuple[re.Pattern[str] | None, str, T]] = [
            (compile_regex(path) if path.startswith("~") else None, path, target) for _, _, path, target in ranked
        ]
        self._cache: dict[str, T | None] = {}
        self._cache_size = cache_size

    def match(self, path: str) -> T | None:
        """`path` must already be normalised (see normalize_path)."""
        try:
            return self._cache[path]
        except KeyError:
            pass
        found: T | None = None
        for regex, prefix, target in self._matchers:
            if regex is not None:
                if regex.match(path):
                    found = target
                    break
            elif path.startswith(prefix):
                found = target
                break
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[path] = found
        return found
