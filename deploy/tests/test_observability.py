"""Prometheus scrapes every service and the gateway; Grafana is provisioned with it and a fleet dashboard."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pfms_platform.catalogue import SERVICES
from pfms_platform.metrics import EVENTS_CONSUMED, LATENCY, OUTBOX_LAG, REQUESTS


def scrape_targets(repo: Path) -> dict[str, list[str]]:
    config = yaml.safe_load((repo / "deploy/prometheus/prometheus.yml").read_text())
    return {
        job["job_name"]: [t for static in job["static_configs"] for t in static["targets"]]
        for job in config["scrape_configs"]
    }


def test_prometheus_scrapes_every_catalogue_service_on_its_port(repo: Path) -> None:
    targets = scrape_targets(repo)
    assert sorted(targets["pfms-services"]) == sorted(f"{s.name}:{s.port}" for s in SERVICES)


def test_prometheus_scrapes_kong_on_its_status_listener_and_rabbitmq(repo: Path, compose: dict[str, Any]) -> None:
    targets = scrape_targets(repo)
    assert targets["kong"] == ["kong:8100"]
    assert compose["services"]["kong"]["environment"]["KONG_STATUS_LISTEN"].endswith(":8100")
    assert targets["rabbitmq"] == ["rabbitmq:15692"]
    assert "prometheus.tcp.port = 15692" in (repo / "deploy/rabbitmq/rabbitmq.conf").read_text()


def test_kong_config_enables_the_prometheus_plugin(repo: Path) -> None:
    if not (repo / "gateway/kong.yml").exists():
        pytest.skip("gateway/kong.yml not there yet")
    kong = yaml.safe_load((repo / "gateway/kong.yml").read_text())
    assert "prometheus" in {p["name"] for p in kong.get("plugins", [])}


def test_grafana_datasource_points_at_the_compose_prometheus(repo: Path) -> None:
    config = yaml.safe_load((repo / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    (source,) = config["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"


def test_dashboards_use_the_provisioned_datasource_and_the_fleets_metrics(repo: Path, compose: dict[str, Any]) -> None:
    provider = yaml.safe_load((repo / "deploy/grafana/provisioning/dashboards/pfms.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in compose["services"]["grafana"]["volumes"]
    exprs = []
    for file in (repo / "deploy/grafana/dashboards").glob("*.json"):
        dashboard = json.loads(file.read_text())
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "prometheus"
            exprs += [t["expr"] for t in panel["targets"]]
    used = {m for e in exprs for m in re.findall(r"[a-z_:]+", e)}
    ours = {REQUESTS._name + "_total", LATENCY._name + "_bucket", EVENTS_CONSUMED._name + "_total", OUTBOX_LAG._name}
    assert ours <= used, f"the fleet dashboard should chart {sorted(ours - used)}"
