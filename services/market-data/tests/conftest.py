"""Fixtures for market-data: a local HTTP server replaying recorded provider answers, and the service."""

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pfms_contracts import CloudEvent, EventData
from pfms_platform.testing.helpers import publish_event, until

RECORDED = Path(__file__).parent / "recorded"


@dataclass
class Route:
    path: str
    params: dict[str, str]
    file: str
    status: int = 200
    content_type: str = "application/json"


ROUTES = [
    Route("/cg/search", {"query": "BTC"}, "coingecko_search_btc.json"),
    Route("/cg/search", {"query": "bit"}, "coingecko_search_btc.json"),
    Route("/cg/simple/price", {"ids": "bitcoin", "vs_currencies": "usd"}, "coingecko_simple_price.json"),
    Route("/cg/coins/bitcoin/market_chart/range", {"vs_currency": "usd"}, "coingecko_market_chart_range.json"),
    Route("/stooq/q/l/", {"s": "aapl.us"}, "stooq_quote_aapl.csv", content_type="text/csv"),
    Route("/stooq/q/l/", {}, "stooq_quote_unknown.csv", content_type="text/csv"),
    Route("/stooq/q/d/l/", {"s": "aapl.us"}, "stooq_history_aapl.csv", content_type="text/csv"),
    Route("/fx/latest", {"from": "EUR", "to": "USD"}, "frankfurter_latest.json"),
    Route("/fx/2024-03-24..2024-03-31", {"from": "EUR", "to": "USD"}, "frankfurter_series.json"),
    Route("/fx/2024-03-24", {"from": "EUR", "to": "USD"}, "frankfurter_day.json"),
    Route("/fx/currencies", {}, "frankfurter_currencies.json"),
]


@dataclass
class Replay:
    """A real HTTP server on loopback serving ROUTES; `down` turns every answer into a 503."""

    url: str = ""
    down: bool = False
    delay: float = 0.0
    hits: dict[str, int] = field(default_factory=dict)

    def answer(self, raw_path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.hits[parts.path] = self.hits.get(parts.path, 0) + 1
        if self.down:
            return 503, "text/plain", b"Service Unavailable"
        for route in ROUTES:
            if route.path == parts.path and all(query.get(k) == v for k, v in route.params.items()):
                return route.status, route.content_type, (RECORDED / route.file).read_bytes()
        return 404, "application/json", b'{"message":"not found"}'


@pytest.fixture(scope="session")
def replay() -> Iterator[Replay]:
    state = Replay()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if state.delay:
                threading.Event().wait(state.delay)
            status, ctype, body = state.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
def fresh_replay(replay: Replay) -> Replay:
    replay.down, replay.delay = False, 0.0
    replay.hits.clear()
    return replay


def live_settings(replay: Replay, **overrides: Any) -> dict[str, Any]:
    """Settings that point every provider at the replay server, with quick retries for tests."""
    values: dict[str, Any] = {
        "stock_provider": "stooq",
        "crypto_provider": "coingecko",
        "forex_provider": "frankfurter",
        "stooq_url": f"{replay.url}/stooq",
        "coingecko_url": f"{replay.url}/cg",
        "frankfurter_url": f"{replay.url}/fx",
        "provider_timeout_seconds": 1.0,
        "provider_retry_delay_seconds": 0.01,
        "provider_rate_per_second": 1000.0,
        "provider_burst": 100,
    }
    values.update(overrides)
    return values


@pytest.fixture
def live(fresh_replay: Replay) -> Callable[..., dict[str, Any]]:
    return lambda **overrides: live_settings(fresh_replay, **overrides)


async def publish(amqp_url: str, data: EventData, source: str = "investment") -> CloudEvent:
    """Publish a CloudEvent the way another service's relay does."""
    return await publish_event(amqp_url, data, source=source)


class Tools:
    publish = staticmethod(publish)
    until = staticmethod(until)


@pytest.fixture
def tools() -> type[Tools]:
    return Tools


@pytest.fixture
def user() -> uuid.UUID:
    return uuid.uuid4()
