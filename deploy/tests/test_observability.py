"""Prometheus scrapes every service and the gateway, with the alert rules promtool proves; Grafana is
provisioned with it and the fleet, per-service and events dashboards; every metric they read exists."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from pfms_platform import metrics
from pfms_platform.catalogue import SERVICES
from pfms_platform.metrics import EVENTS_CONSUMED, LATENCY, OUTBOX_LAG, REQUESTS

PROMETHEUS = Path("deploy/prometheus")
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum", ""),
}


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


def dashboards(repo: Path) -> dict[str, dict[str, Any]]:
    return {
        file.stem: json.loads(file.read_text()) for file in sorted((repo / "deploy/grafana/dashboards").glob("*.json"))
    }


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def alert_rules(repo: Path) -> list[dict[str, Any]]:
    rules = yaml.safe_load((repo / PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers left once strings, label matchers, ranges and
    grouping clauses are gone, except functions and aggregations (followed by a parenthesis) and operators."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    words = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", bare))
    return words - {"and", "or", "unless", "bool", "offset", "group_left", "group_right"}


def exported() -> set[str]:
    """Every series name the platform's metrics produce (a counter's `_total`, a histogram's `_bucket`...)."""
    return {family.name + suffix for family in REGISTRY.collect() for suffix in SUFFIXES.get(family.type, ("",))}


def our_metrics() -> Iterator[MetricWrapperBase]:
    return (value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase))


def test_every_metric_an_alert_or_dashboard_reads_is_exported_by_the_code_rabbitmq_kong_or_prometheus(
    repo: Path,
) -> None:
    exprs = [rule["expr"] for rule in alert_rules(repo)]
    exprs += [e for dashboard in dashboards(repo).values() for e in dashboard_exprs(dashboard)]
    read = {name for e in exprs for name in metric_names(e)}
    assert {"http_requests_total", "rabbitmq_queue_messages", "up"} <= read  # the parser finds them
    unknown = {n for n in read - exported() if not n.startswith(("rabbitmq_", "kong_")) and n != "up"}
    assert not unknown, f"alerts or dashboards read metrics nothing exports: {sorted(unknown)}"


def test_every_platform_metric_is_charted(repo: Path) -> None:
    read = {name for d in dashboards(repo).values() for e in dashboard_exprs(d) for name in metric_names(e)}
    for metric in our_metrics():
        names = {f"{metric._name}{suffix}" for suffix in SUFFIXES[str(metric._type)]}
        assert names & read, f"no dashboard charts {metric._name}"


def test_the_per_service_dashboard_is_filtered_by_its_service_variable(repo: Path) -> None:
    dashboard = dashboards(repo)["pfms-service"]
    (variable,) = dashboard["templating"]["list"]
    assert variable["name"] == "service" and "http_requests_total" in variable["definition"]
    for expr in dashboard_exprs(dashboard):
        assert "$service" in expr, expr


def test_the_events_dashboard_charts_the_bus_from_both_ends(repo: Path) -> None:
    read = {name for e in dashboard_exprs(dashboards(repo)["pfms-events"]) for name in metric_names(e)}
    assert {
        "events_published_total",
        "events_consumed_total",
        "outbox_pending_events",
        "outbox_oldest_pending_seconds",
        "dead_letter_queue_messages",
        "rabbitmq_queue_messages",
    } <= read


def test_dashboards_have_unique_uids_and_panel_ids(repo: Path) -> None:
    found = dashboards(repo)
    assert {"pfms-fleet", "pfms-service", "pfms-events"} <= set(found)
    assert len({d["uid"] for d in found.values()}) == len(found)
    for dashboard in found.values():
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), dashboard["uid"]


@pytest.fixture(scope="session")
def promtool() -> str:
    """Debian's prometheus package ships it; deploy/local/setup.sh installs it, so its absence is a failure."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run deploy/local/setup.sh (it installs Debian's prometheus package)")
    return found


def run_promtool(promtool: str, repo: Path, *args: str) -> str:
    done = subprocess.run([promtool, *args], cwd=repo / PROMETHEUS, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_promtool_accepts_the_prometheus_config_and_its_rule_files(promtool: str, repo: Path) -> None:
    out = run_promtool(promtool, repo, "check", "config", "prometheus.yml")
    assert "alerts.yml" in out  # the rule file was loaded with the config
    run_promtool(promtool, repo, "check", "rules", "alerts.yml")


def test_each_alert_fires_on_bad_series_and_stays_silent_on_good_ones(promtool: str, repo: Path) -> None:
    """alerts.test.yml feeds failing and healthy series side by side; promtool checks the exact alerts."""
    run_promtool(promtool, repo, "test", "rules", "alerts.test.yml")
    cases = yaml.safe_load((repo / PROMETHEUS / "alerts.test.yml").read_text())
    fired: set[str] = set()
    silent: set[str] = set()
    for test in cases["tests"]:
        for case in test["alert_rule_test"]:
            (fired if case["exp_alerts"] else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules(repo)}
    assert names == fired == silent, "every alert needs a case where it fires and one where it does not"


def test_the_seed_alerts_are_all_there_and_prometheus_loads_them(repo: Path) -> None:
    rules = {rule["alert"]: rule for rule in alert_rules(repo)}
    assert set(rules) == {
        "ServiceDown",
        "HighErrorRate",
        "SlowResponses",
        "QueueBacklog",
        "DeadLettersParked",
        "OutboxLag",
    }
    assert rules["ServiceDown"]["expr"].strip() == "up == 0" and rules["ServiceDown"]["for"] == "5m"
    assert all(rule["labels"]["severity"] in {"critical", "warning"} for rule in rules.values())
    config = yaml.safe_load((repo / PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]


def test_compose_mounts_the_alert_rules_beside_the_config(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes
