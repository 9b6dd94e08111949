"""The same four servers as Docker containers (testcontainers), where a Docker engine is present.

They keep the local servers' interface (ports, URLs, vhosts, psql, stop/start/kill for fault
tests) and bind fixed host ports chosen up front, so a container stopped and started again by a
fault test answers where it did before.
"""

import signal
import time
from dataclasses import dataclass, field
from typing import Any

from pfms_devservers.servers import Mongo, Postgres, RabbitMQ, Redis, _port_open


def docker_available() -> bool:
    """True when testcontainers is installed and a Docker engine answers."""
    try:
        import docker  # optional dependency

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@dataclass
class _InContainer:
    """Runs the server as a container; the subclass's server class supplies URLs and helpers."""

    image: str = ""
    container_port: int = 0
    environment: dict[str, str] = field(default_factory=dict)
    extra_ports: dict[int, int] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)
    container: Any = field(default=None, repr=False)

    def start(self) -> None:
        if self.container is not None:  # stopped by a fault test: the same container again
            self.container.get_wrapped_container().start()
            return
        from testcontainers.core.container import DockerContainer  # optional dependency

        box = DockerContainer(self.image).with_bind_ports(self.container_port, self.port)  # type: ignore[attr-defined]
        for inside, outside in self.extra_ports.items():
            box = box.with_bind_ports(inside, outside)
        for key, value in self.environment.items():
            box = box.with_env(key, value)
        if self.arguments:
            box = box.with_command(self.arguments)
        self.container = box.start()

    def wait(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():  # type: ignore[attr-defined]
                return
            time.sleep(0.2)
        logs = self.container.get_wrapped_container().logs(tail=20).decode(errors="replace") if self.container else ""
        raise TimeoutError(f"{self.image} not ready after {timeout}s:\n{logs}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.container is None:
            return
        wrapped = self.container.get_wrapped_container()
        if sig == signal.SIGKILL:
            wrapped.kill()
        else:
            wrapped.stop(timeout=int(timeout))

    def remove(self) -> None:
        if self.container is not None:
            self.container.stop()
            self.container = None


@dataclass
class DockerPostgres(_InContainer, Postgres):
    def __post_init__(self) -> None:
        self.run_as = None
        self.image, self.container_port = "postgres:16-alpine", 5432
        self.environment = {"POSTGRES_HOST_AUTH_METHOD": "trust"}
        self.arguments = ["postgres", "-c", "max_connections=400"] + (
            ["-c", "fsync=off", "-c", "synchronous_commit=off"] if self.fast else []
        )

    def ready(self) -> bool:
        if not _port_open(self.port) or self.container is None:
            return False
        code, _ = self.container.get_wrapped_container().exec_run(["pg_isready", "-U", "postgres", "-h", "127.0.0.1"])
        return bool(code == 0)

    def psql(self, sql: str, database: str = "postgres") -> str:
        code, output = self.container.get_wrapped_container().exec_run(
            ["psql", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql]
        )
        if code:
            raise RuntimeError(f"psql failed ({code}): {output.decode(errors='replace')}")
        return str(output.decode())


@dataclass
class DockerRabbitMQ(_InContainer, RabbitMQ):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.run_as = None
        self.image, self.container_port = "rabbitmq:3.13-management-alpine", 5672
        self.extra_ports = {15672: self.management_port}
        # The guest user may connect from outside the container (tests only).
        self.environment = {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit loopback_users []"}


def _answers(container: Any, command: list[str]) -> bool:
    """Docker's port proxy accepts connections before the server does: ask inside the container."""
    if container is None:
        return False
    code, _ = container.get_wrapped_container().exec_run(command)
    return bool(code == 0)


@dataclass
class DockerRedis(_InContainer, Redis):
    def __post_init__(self) -> None:
        self.image, self.container_port = "redis:7-alpine", 6379
        self.arguments = ["redis-server", "--save", "", "--appendonly", "no", "--databases", "64"]

    def ready(self) -> bool:
        return _port_open(self.port) and _answers(self.container, ["redis-cli", "ping"])


@dataclass
class DockerMongo(_InContainer, Mongo):
    def __post_init__(self) -> None:
        self.image, self.container_port = "mongo:7", 27017

    def ready(self) -> bool:
        return _port_open(self.port) and _answers(
            self.container, ["mongosh", "--quiet", "--eval", "db.runCommand({ping: 1}).ok"]
        )
