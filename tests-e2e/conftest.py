"""The whole fleet as real processes (every service and the gateway), started once per test session.

It reuses the session's servers (`stack`), gives the fleet fresh migrated databases, its own vhost
and Redis database, and free ports, so it never clashes with a `make run` on 3000-3014.
Each process logs to `<pytest tmp>/fleet*/<name>.log`; `fleet.log(name)` returns the last lines.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from pfms_devservers import Stack, free_port
from pfms_local.fleet import Fleet
from pfms_local.logs import Files
from pfms_platform.catalogue import SERVICES
from pfms_platform.testing.fixtures import fresh_database

START_TIMEOUT = 120.0
"""Generous for a loaded 2-core CI machine; a quiet one is ready in about 15 s."""


_started: list[float] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line in every run's summary, to notice when the fleet gets slower to start."""
    if _started:
        terminalreporter.write_line(f"e2e fleet: {len(SERVICES)} services + gateway ready in {_started[0]:.1f}s")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under `pytest -n N` the fleet starts in a worker: it reports its start time back (workeroutput)."""
    started = getattr(node, "workeroutput", {}).get("e2e_fleet_started")
    if started is not None:
        _started.append(started)


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@pytest.fixture(scope="session")
async def fleet(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> AsyncIterator[Fleet]:
    """Every service and the gateway, ready; `kill(name)`, `restart(name)`, `url(name)`, `gateway_url`."""
    tag = uuid.uuid4().hex[:8]
    vhost = f"e2e{tag}"
    stack.rabbitmq.add_vhost(vhost)
    redis = Redis.from_url(stack.redis.url(0))
    await redis.flushdb()  # db 0 is the fleet's: `make_service` tests use 1-63
    await redis.aclose()
    databases = {s.name: await fresh_database(stack, s.name) for s in SERVICES if s.store == "postgres"}
    *service_ports, gateway_port, status_port = _distinct_ports(len(SERVICES) + 2)
    running = Fleet(
        stack,
        sink=Files(tmp_path_factory.mktemp("fleet")),
        ports={s.name: port for s, port in zip(SERVICES, service_ports, strict=True)},
        gateway_port=gateway_port,
        gateway_status_port=status_port,
        vhost=vhost,
        redis_db=0,
        databases=databases,
        mongo_database=f"e2e_ai_{tag}",
        environment="test",
    )
    try:
        await running.start(START_TIMEOUT)
        _started.append(running.started_in or 0.0)
        workeroutput = getattr(pytestconfig, "workeroutput", None)  # set in an xdist worker
        if workeroutput is not None:
            workeroutput["e2e_fleet_started"] = _started[-1]
        yield running
    finally:
        await running.stop()
        running.sink.close()
        for database in databases.values():
            stack.postgres.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        stack.rabbitmq.delete_vhost(vhost)


@pytest.fixture
async def gateway(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the gateway: what a mobile or web client would talk to."""
    async with httpx.AsyncClient(base_url=fleet.gateway_url, timeout=15.0) as client:
        yield client
