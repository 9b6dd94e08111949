"""Each service's database: created if missing, then migrated with the service's own `migrate` command.

The runner calls `pfms-<svc> migrate` exactly as a Kubernetes init job would, so a migration that
only works from inside the test suite is caught by `make run` too.
"""

import asyncio
import importlib.util
import os
import subprocess
from pathlib import Path

from alembic.script import ScriptDirectory

from pfms_devservers import Postgres
from pfms_local.fleet import Fleet, executable
from pfms_local.logs import Sink
from pfms_platform.catalogue import ServiceInfo
from pfms_platform.migrations import config


def create_databases(postgres: Postgres, services: tuple[ServiceInfo, ...], names: dict[str, str]) -> list[str]:
    """Create the missing databases of the PostgreSQL services; returns the ones it created."""
    created = []
    existing = set(postgres.psql("SELECT datname FROM pg_database").split())
    for info in services:
        if info.store == "postgres" and names[info.name] not in existing:
            postgres.create_database(names[info.name])
            created.append(names[info.name])
    return created


def service_dir(info: ServiceInfo) -> Path:
    """services/<name>, found from the installed package without importing it."""
    spec = importlib.util.find_spec(info.package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{info.package} is not installed: run `make setup`")
    return Path(spec.origin).resolve().parents[2]


def up_to_date(postgres: Postgres, info: ServiceInfo, database: str) -> bool:
    """The database is at every head of the service's migrations: no need to start `migrate` at all."""
    heads = set(ScriptDirectory.from_config(config(service_dir(info), postgres.url(database))).get_heads())
    try:
        current = set(postgres.psql("SELECT version_num FROM alembic_version", database).split())
    except subprocess.CalledProcessError:  # no alembic_version yet
        return False
    return current == heads


async def migrate(fleet: Fleet, services: tuple[ServiceInfo, ...], sink: Sink, parallel: int = 0) -> None:
    """`pfms-<svc> migrate` for every PostgreSQL service, a few at a time; the first failure raises."""
    gate = asyncio.Semaphore(parallel or os.cpu_count() or 2)
    failures: list[str] = []

    async def one(info: ServiceInfo) -> None:
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                executable(f"pfms-{info.name}"),
                "migrate",
                env=fleet.service_env(info),
                cwd=fleet.root,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                output, _ = await proc.communicate()
            except asyncio.CancelledError:
                proc.kill()
                raise
        if proc.returncode:
            for line in output.decode(errors="replace").splitlines()[-40:]:
                sink.line(info.name, line)
            failures.append(info.name)
        else:
            sink.line(info.name, "migrations applied")

    def pending() -> list[ServiceInfo]:
        postgres = [s for s in services if s.store == "postgres"]
        done = [s for s in postgres if up_to_date(fleet.stack.postgres, s, fleet.databases[s.name])]
        if done:
            sink.line("run", f"migrations up to date: {', '.join(s.name for s in done)}")
        return [s for s in postgres if s not in done]

    await asyncio.gather(*(one(s) for s in await asyncio.to_thread(pending)))
    if failures:
        raise RuntimeError(f"migrations failed for: {', '.join(failures)} (output above)")
