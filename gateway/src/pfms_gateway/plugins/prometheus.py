"""Kong's prometheus plugin: the same metric names, labels and buckets (kong/plugins/prometheus/exporter.lua).

Served on the status listener (`/metrics`), not on the proxy port. Requests that match no route
are not recorded, as in Kong (its log phase has no service for them). Counters are kept in plain
dicts: the hot path is a few dict updates, the text is built only when scraped.
"""

from __future__ import annotations

import os
import time
import uuid
from bisect import bisect_left
from typing import TYPE_CHECKING

from pfms_gateway.config import PluginConf
from pfms_gateway.exchange import Exchange, Response

if TYPE_CHECKING:
    from collections.abc import Callable

PRIORITY = 13
KONG_VERSION = "3.9.1"

KONG_LATENCY_BUCKETS = (1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000)
UPSTREAM_LATENCY_BUCKETS = (25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000)

Labels = tuple[str, ...]


class _Histogram:
    def __init__(self, name: str, help_text: str, label_names: Labels, buckets: tuple[int, ...]) -> None:
        self.name = name
        self.help = help_text
        self.label_names = label_names
        self.buckets = buckets
        self.series: dict[Labels, list[float]] = {}  # per-bucket counts (+Inf last), then sum

    def row(self, labels: Labels) -> list[float]:
        row = self.series.get(labels)
        if row is None:
            row = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        return row

    def observe(self, value: float, labels: Labels) -> None:
        _observe(self.row(labels), self.buckets, value)

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {self.help}")
        out.append(f"# TYPE {self.name} histogram")
        for labels, row in sorted(self.series.items()):
            if not any(row[:-1]):
                continue  # made ahead of use, never observed
            base = _labels(self.label_names, labels)
            running = 0.0
            for bound, count in zip(self.buckets, row, strict=False):
                running += count
                out.append(f'{self.name}_bucket{{{base},le="{bound:07.1f}"}} {running:g}')
            running += row[len(self.buckets)]
            out.append(f'{self.name}_bucket{{{base},le="+Inf"}} {running:g}')
            out.append(f"{self.name}_count{{{base}}} {running:g}")
            out.append(f"{self.name}_sum{{{base}}} {row[-1]:g}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Labels, values: Labels) -> str:
    return ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))


class Metrics:
    """The exporter's state for this process."""

    def __init__(self) -> None:
        self.node_id = str(uuid.uuid4())
        self.requests: dict[Labels, int] = {}
        self.bandwidth: dict[Labels, int] = {}
        self.kong_latency = _Histogram(
            "kong_kong_latency_ms",
            "Latency added by Kong and enabled plugins for each service/route in Kong",
            ("service", "route"),
            KONG_LATENCY_BUCKETS,
        )
        self.upstream_latency = _Histogram(
            "kong_upstream_latency_ms",
            "Latency added by upstream response for each service/route in Kong",
            ("service", "route"),
            UPSTREAM_LATENCY_BUCKETS,
        )
        self.request_latency = _Histogram(
            "kong_request_latency_ms",
            "Total latency incurred during requests for each service/route in Kong",
            ("service", "route"),
            UPSTREAM_LATENCY_BUCKETS,
        )
        self.nginx_requests_total = 0
        self.connections_accepted = 0
        self.connections_active = 0
        self.upstream_health: Callable[[], list[tuple[Labels, int]]] | None = None
        self.export_upstream_health = False

    def render(self) -> str:
        out: list[str] = []
        sub = "http"
        out += [
            "# HELP kong_datastore_reachable Datastore reachable from Kong, 0 is unreachable",
            "# TYPE kong_datastore_reachable gauge",
            "kong_datastore_reachable 1",
            "# HELP kong_node_info Kong Node metadata information",
            "# TYPE kong_node_info gauge",
            f'kong_node_info{{node_id="{self.node_id}",version="{KONG_VERSION}"}} 1',
            "# HELP kong_nginx_requests_total Number of requests total",
            "# TYPE kong_nginx_requests_total gauge",
            f'kong_nginx_requests_total{{node_id="{self.node_id}",subsystem="{sub}"}} {self.nginx_requests_total}',
            "# HELP kong_nginx_connections_total Number of connections by subsystem",
            "# TYPE kong_nginx_connections_total gauge",
        ]
        for state, value in (
            ("accepted", self.connections_accepted),
            ("active", self.connections_active),
            ("handled", self.connections_accepted),
            ("total", self.nginx_requests_total),
        ):
            out.append(
                f'kong_nginx_connections_total{{node_id="{self.node_id}",subsystem="{sub}",state="{state}"}} {value}'
            )
        out.append("# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong")
        out.append("# TYPE kong_http_requests_total counter")
        status_names: Labels = ("service", "route", "code", "source", "consumer")
        for labels, count in sorted(self.requests.items()):
            out.append(f"kong_http_requests_total{{{_labels(status_names, labels)}}} {count}")
        out.append("# HELP kong_bandwidth_bytes Total bandwidth (ingress/egress) throughput in bytes")
        out.append("# TYPE kong_bandwidth_bytes counter")
        bandwidth_names: Labels = ("service", "route", "direction", "consumer")
        for labels, count in sorted(self.bandwidth.items()):
            if count:
                out.append(f"kong_bandwidth_bytes{{{_labels(bandwidth_names, labels)}}} {count}")
        for hist in (self.kong_latency, self.upstream_latency, self.request_latency):
            hist.render(out)
        if self.export_upstream_health and self.upstream_health is not None:
            out.append(
                "# HELP kong_upstream_target_health Health status of targets of upstream. States = "
                "healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated."
            )
            out.append("# TYPE kong_upstream_target_health gauge")
            names = ("upstream", "target", "address", "state", "subsystem")
            for labels, value in self.upstream_health():
                out.append(f"kong_upstream_target_health{{{_labels(names, labels)}}} {value}")
        out.append(f"# pid {os.getpid()} at {time.time():.0f}")
        return "\n".join(out) + "\n"


class PrometheusPlugin:
    name = "prometheus"
    priority = PRIORITY

    def __init__(self, conf: PluginConf, metrics: Metrics) -> None:
        c = conf.config
        self.metrics = metrics
        self.per_consumer: bool = c["per_consumer"]
        self.status_codes: bool = c["status_code_metrics"]
        self.latency: bool = c["latency_metrics"]
        self.bandwidth: bool = c["bandwidth_metrics"]
        if c["upstream_health_metrics"]:
            metrics.export_upstream_health = True
        self._by_route: dict[object, _RouteRows] = {}

    def _rows(self, ex: Exchange) -> _RouteRows:
        route = ex.route
        rows = self._by_route.get(route)
        if rows is None:
            assert route is not None
            rows = self._by_route[route] = _RouteRows(self.metrics, route.service_name, route.name)
        return rows

    def log(self, ex: Exchange, response: Response, response_size: int, end: float) -> None:
        rows = self._by_route.get(ex.route)
        if rows is None:
            if ex.route is None:
                return
            rows = self._rows(ex)
        m = self.metrics
        if self.per_consumer and ex.consumer is not None and ex.consumer.username:
            self._log_consumer(ex, response, response_size, rows, ex.consumer.username)
        else:
            if self.bandwidth:
                bandwidth = m.bandwidth
                if ex.request_size > 0:
                    bandwidth[rows.ingress] += ex.request_size
                if response_size > 0:
                    bandwidth[rows.egress] += response_size
            if self.status_codes:
                key = rows.status.get((response.status, response.source))
                if key is None:
                    key = rows.status_key(response.status, response.source)
                m.requests[key] = m.requests.get(key, 0) + 1
        if self.latency:
            total = (end - ex.start) * 1000.0
            row = rows.request
            row[bisect_left(UPSTREAM_LATENCY_BUCKETS, total)] += 1
            row[-1] += total
            upstream = ex.upstream_latency
            if upstream is not None:
                row = rows.upstream
                row[bisect_left(UPSTREAM_LATENCY_BUCKETS, upstream)] += 1
                row[-1] += upstream
                total = total - upstream if total > upstream else 0.0
            row = rows.kong
            row[bisect_left(KONG_LATENCY_BUCKETS, total)] += 1
            row[-1] += total

    def _log_consumer(self, ex: Exchange, response: Response, size: int, rows: _RouteRows, consumer: str) -> None:
        m = self.metrics
        if self.bandwidth:
            for direction, n in (("ingress", ex.request_size), ("egress", size)):
                if n > 0:
                    bkey = (rows.service, rows.route, direction, consumer)
                    m.bandwidth[bkey] = m.bandwidth.get(bkey, 0) + n
        if self.status_codes:
            source = "service" if response.source == "service" else "kong"
            key = (rows.service, rows.route, str(response.status), source, consumer)
            m.requests[key] = m.requests.get(key, 0) + 1


def _observe(row: list[float], buckets: tuple[int, ...], value: float) -> None:
    row[bisect_left(buckets, value)] += 1
    row[-1] += value


class _RouteRows:
    """Label tuples and histogram rows of one route, made once so logging a request is a few adds."""

    def __init__(self, metrics: Metrics, service: str, route: str) -> None:
        self.service = service
        self.route = route
        labels = (service, route)
        self.request = metrics.request_latency.row(labels)
        self.upstream = metrics.upstream_latency.row(labels)
        self.kong = metrics.kong_latency.row(labels)
        self.ingress = (service, route, "ingress", "")
        self.egress = (service, route, "egress", "")
        metrics.bandwidth.setdefault(self.ingress, 0)
        metrics.bandwidth.setdefault(self.egress, 0)
        self.status: dict[tuple[int, str], tuple[str, ...]] = {}

    def status_key(self, status: int, source: str) -> tuple[str, ...]:
        key = self.status.get((status, source))
        if key is None:
            label = "service" if source == "service" else "kong"
            key = self.status[(status, source)] = (self.service, self.route, str(status), label, "")
        return key
