"""Where `make run` keeps its data and which ports it uses; every value can be overridden by env.

The servers listen on fixed, non-standard ports so that they never clash with a PostgreSQL,
RabbitMQ, Redis or MongoDB already running on the machine's standard ones, and so that a second
`make run` finds the same data at the same address.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pfms_platform.catalogue import GATEWAY_PORT, SERVICES, ServiceInfo

ROOT = Path(__file__).resolve().parents[4]
"""The repository: deploy/local/src/pfms_local/config.py → four levels up."""

SERVER_PORTS = {
    "postgres": 55432,
    "rabbitmq": 55672,
    "rabbitmq_dist": 55673,
    "rabbitmq_mgmt": 55674,
    "redis": 56379,
    "mongo": 57017,
    "smtp": 51025,
    "s3": 59000,
}
GATEWAY_STATUS_PORT = 8100


def port_variable(key: str) -> str:
    """`rabbitmq_mgmt` → `PFMS_RUN_RABBITMQ_MGMT_PORT`."""
    return f"PFMS_RUN_{key.upper()}_PORT"


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    value = env.get(port_variable(key), "").strip()
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{port_variable(key)}={value!r} is not a port number")
    return int(value)


def select(only: str, services: tuple[ServiceInfo, ...] = SERVICES) -> tuple[ServiceInfo, ...]:
    """`auth,user` → those services (catalogue order); empty → all of them."""
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    known = {s.name for s in services}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return tuple(s for s in services if not wanted or s.name in wanted)


@dataclass(frozen=True)
class RunConfig:
    """Everything `pfms-run` needs to know before it starts anything."""

    var: Path
    servers: dict[str, int]
    gateway_port: int
    gateway_status_port: int
    services: tuple[ServiceInfo, ...]
    service_ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, only: str | None = None) -> "RunConfig":
        var = Path(env.get("PFMS_RUN_DIR") or ROOT / ".var").resolve()
        return cls(
            var=var,
            servers={key: _port(env, key, port) for key, port in SERVER_PORTS.items()},
            gateway_port=_port(env, "gateway", GATEWAY_PORT),
            gateway_status_port=_port(env, "gateway_status", GATEWAY_STATUS_PORT),
            services=select(env.get("PFMS_RUN_ONLY", "") if only is None else only),
            service_ports={s.name: s.port for s in SERVICES},
        )
