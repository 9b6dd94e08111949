"""A real broker boots with deploy/rabbitmq/rabbitmq.conf and imports the topology and the users file.

Debian's RabbitMQ (3.10) stands in for the rabbitmq:3-management image: same config keys, same
definitions import at boot (which skips the default guest user), same plugins enabled.
"""

import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pfms_devservers.servers import RabbitMQ, _chown, free_port

pytestmark = pytest.mark.integration

USER, PASSWORD = "pfms-test", "0123456789abcdef"


class ComposeLikeRabbitMQ(RabbitMQ):
    """The project's broker config, with only the container paths and ports moved onto this machine."""

    def __init__(self, base: Path, repo: Path, users: str) -> None:
        super().__init__(base, free_port())
        self.repo = repo
        self.users = users
        self.prometheus_port = free_port()

    def prepare(self) -> None:
        super().prepare()
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management,rabbitmq_prometheus].\n")
        definitions = self.dir / "definitions.d"
        definitions.mkdir(exist_ok=True)
        shutil.copy(self.repo / "deploy/rabbitmq/definitions.json", definitions / "topology.json")
        (definitions / "users.json").write_text(self.users)
        conf = (self.repo / "deploy/rabbitmq/rabbitmq.conf").read_text()
        for container, local in {
            "/etc/rabbitmq/definitions.d": str(definitions),
            "listeners.tcp.default = 5672": f"listeners.tcp.default = 127.0.0.1:{self.port}",
            "management.tcp.port = 15672": f"management.tcp.port = {self.management_port}",
            "prometheus.tcp.port = 15692": f"prometheus.tcp.port = {self.prometheus_port}",
        }.items():
            assert container in conf, f"rabbitmq.conf no longer has {container!r}: update this test"
            conf = conf.replace(container, local)
        (self.dir / "rabbitmq.conf").write_text(conf + "management.tcp.ip = 127.0.0.1\nprometheus.tcp.ip = 127.0.0.1\n")
        _chown(self.dir, self.run_as)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.api}/overview", auth=(USER, PASSWORD), timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture(scope="module")
def broker(repo: Path, compose: dict[str, Any]) -> Iterator[ComposeLikeRabbitMQ]:
    if shutil.which("rabbitmq-server") is None and not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
        pytest.skip("rabbitmq-server is not installed")
    users = compose["configs"]["rabbitmq-users"]["content"]
    users = users.replace("${RABBITMQ_USER}", USER).replace("${RABBITMQ_PASSWORD}", PASSWORD)
    base = Path(tempfile.mkdtemp(prefix="pfms-rabbit-conf-"))
    base.chmod(0o755)
    server = ComposeLikeRabbitMQ(base, repo, users)
    server.start()
    try:
        server.wait(90)
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def api(broker: ComposeLikeRabbitMQ, path: str) -> Any:
    response = httpx.get(f"{broker.api}/{path}", auth=(USER, PASSWORD), timeout=10)
    response.raise_for_status()
    return response.json()


def test_the_users_file_is_the_only_way_in(broker: ComposeLikeRabbitMQ) -> None:
    assert [u["name"] for u in api(broker, "users")] == [USER]
    assert httpx.get(f"{broker.api}/overview", auth=("guest", "guest"), timeout=10).status_code == 401


def test_the_checked_in_topology_is_imported_at_boot(broker: ComposeLikeRabbitMQ, repo: Path) -> None:
    wanted = json.loads((repo / "deploy/rabbitmq/definitions.json").read_text())
    exchanges = {x["name"]: x for x in api(broker, "exchanges/%2F")}
    for exchange in wanted["exchanges"]:
        assert exchanges[exchange["name"]]["type"] == exchange["type"]
        assert exchanges[exchange["name"]]["durable"] is True
    queues = {q["name"]: q for q in api(broker, "queues/%2F")}
    for queue in wanted["queues"]:
        assert queues[queue["name"]]["arguments"] == queue["arguments"]
        assert queues[queue["name"]]["type"] == "quorum"
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in api(broker, "bindings/%2F")}
    assert {(b["source"], b["destination"], b["routing_key"]) for b in wanted["bindings"]} <= bindings


def test_per_queue_metrics_are_served_for_the_dashboards(broker: ComposeLikeRabbitMQ) -> None:
    """The DLQ panel needs per-object metrics (a `queue` label); stats are first emitted ~5 s after boot."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metrics = httpx.get(f"http://127.0.0.1:{broker.prometheus_port}/metrics", timeout=10).text
        if re.search(r'^rabbitmq_queue_messages\{.*queue="', metrics, re.M):
            return
        time.sleep(0.5)
    pytest.fail("no per-queue rabbitmq_queue_messages samples: is prometheus.return_per_object_metrics set?")
