"""`pfms-<service> serve|migrate`: the one entry point every service image runs."""

import argparse
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from pfms_platform.migrations import upgrade
from pfms_platform.settings import ServiceSettings


def run(service_dir: Path, settings: ServiceSettings, factory: Callable[[ServiceSettings], FastAPI]) -> None:
    parser = argparse.ArgumentParser(prog=f"pfms-{settings.service_name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP service with its relay and consumers")
    sub.add_parser("migrate", help="apply the Alembic migrations to the service's database")
    args = parser.parse_args()
    if args.command == "migrate":
        if (service_dir / "alembic.ini").exists():  # a MongoDB-backed service has nothing to migrate
            upgrade(service_dir, settings.database_url)
        return
    uvicorn.run(
        factory(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
