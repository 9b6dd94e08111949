"""`pfms-<service> serve|migrate|…`: the one entry point every service image runs."""

import argparse
import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from pfms_platform.catalogue import SERVICES
from pfms_platform.events.deadletters import replay
from pfms_platform.events.retention import replay_to
from pfms_platform.migrations import upgrade
from pfms_platform.settings import ServiceSettings


@dataclass(frozen=True)
class Command:
    """A service-specific subcommand (e.g. auth's `rotate-keys`): its help line and what it runs."""

    help: str
    run: Callable[[ServiceSettings], None]


def moment(text: str) -> datetime:
    """An ISO 8601 time from the command line; one without a zone is taken as UTC."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run(
    service_dir: Path,
    settings: ServiceSettings,
    factory: Callable[[ServiceSettings], FastAPI],
    extra: dict[str, Command] | None = None,
) -> None:
    extra = extra or {}
    parser = argparse.ArgumentParser(prog=f"pfms-{settings.service_name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP service with its relay and consumers")
    sub.add_parser("migrate", help="apply the Alembic migrations to the service's database")
    dlq = sub.add_parser("dlq-replay", help="move the dead-letter queue's messages back onto the service's queue")
    dlq.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    again = sub.add_parser(
        "outbox-replay",
        help="publish this service's retained events again to one consumer's queue (after restoring it from a backup)",
    )
    again.add_argument("--since", type=moment, required=True, help="ISO 8601 time (UTC if it names no zone)")
    again.add_argument("--to", required=True, choices=[s.name for s in SERVICES], help="the consumer service")
    for name, command in extra.items():
        sub.add_parser(name, help=command.help, description=command.help)
    args = parser.parse_args()
    if args.command in extra:
        extra[args.command].run(settings)
    elif args.command == "dlq-replay":
        moved = asyncio.run(replay(settings.amqp_url, settings.service_name, args.limit))
        print(f"{moved} message(s) moved back onto {settings.service_name}.events")
    elif args.command == "outbox-replay":
        if not (service_dir / "alembic.ini").exists():
            parser.error(f"{settings.service_name} keeps no PostgreSQL outbox")
        sent = asyncio.run(replay_to(settings, args.to, args.since))
        print(f"{sent} event(s) since {args.since.isoformat()} sent again to {args.to}.events")
    elif args.command == "migrate":
        if (service_dir / "alembic.ini").exists():  # a MongoDB-backed service has nothing to migrate
            upgrade(service_dir, settings.database_url)
    else:
        # Several workers need the factory by name: each process builds its own app (and relay and
        # consumer, which compete safely: SKIP LOCKED rows, one queue).
        # Workers share one listening socket and libuv accepts every pending connection at once, so
        # a burst of new connections (a gateway filling its pool) lands on whichever worker woke
        # first (45/19 seen); accepting one at a time spreads them across workers.
        os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
        target = factory(settings) if settings.workers == 1 else f"{factory.__module__}:{factory.__name__}"
        uvicorn.run(
            target,
            factory=settings.workers > 1,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=20,
        )
