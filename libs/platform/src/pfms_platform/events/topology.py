"""The broker topology as a RabbitMQ definitions document, exported for deploy/.

The services declare the same objects themselves at start (`Bus.connect`, `Consumer.declare`); the
exported file lets a broker hold every queue before its consumer first runs, so nothing published
in between is dropped. Both read the same functions, so the arguments cannot drift apart.

    python -m pfms_platform.events.topology [PATH] [--check]

writes (or, with --check, verifies) PATH, by default `deploy/rabbitmq/definitions.json`.
"""

import argparse
import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pfms_contracts import EXCHANGES
from pfms_platform.catalogue import SERVICES
from pfms_platform.events.bus import DLX, queue_arguments
from pfms_platform.events.consumer import Handler, bindings, queue_name

DEFAULT_PATH = Path("deploy/rabbitmq/definitions.json")
DLQ_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}
"""What `Consumer.declare` gives each dead-letter queue."""


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


def service_handlers() -> dict[str, dict[str, Handler]]:
    """Every catalogue service's consumed event types (`pfms_<svc>.events.HANDLERS`), empty ones left out."""
    found: dict[str, dict[str, Handler]] = {}
    for info in SERVICES:
        handlers: dict[str, Handler] = importlib.import_module(f"{info.package}.events").HANDLERS
        if handlers:
            found[info.name] = handlers
    return found


def _exchange(name: str, kind: str, vhost: str) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": vhost,
        "type": kind,
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
    }


def _queue(name: str, arguments: dict[str, Any], vhost: str) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}


def _binding(source: str, queue: str, key: str, vhost: str) -> dict[str, Any]:
    return {
        "source": source,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


def definitions(handlers: Mapping[str, Mapping[str, Handler]] | None = None, *, vhost: str = "/") -> dict[str, Any]:
    """Exchanges, queues and bindings for the given services' handlers (default: the whole fleet)."""
    consumers = service_handlers() if handlers is None else handlers
    exchanges = [_exchange(name, "topic", vhost) for name in sorted(EXCHANGES)]
    exchanges.append(_exchange(DLX, "direct", vhost))
    queues: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for service in sorted(consumers):
        if not consumers[service]:
            continue
        queue = queue_name(service)
        queues += [_queue(queue, queue_arguments(queue), vhost), _queue(dlq_name(queue), dict(DLQ_ARGUMENTS), vhost)]
        links.append(_binding(DLX, dlq_name(queue), queue, vhost))
        links += [_binding(exchange, queue, key, vhost) for exchange, key in bindings(dict(consumers[service]))]
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": exchanges,
        "queues": sorted(queues, key=lambda q: q["name"]),
        "bindings": sorted(links, key=lambda b: (b["source"], b["destination"], b["routing_key"])),
    }


def render(document: Mapping[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pfms_platform.events.topology", description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if PATH differs from a fresh render")
    args = parser.parse_args(argv)
    text = render(definitions())
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is stale: run `make topology`", file=sys.stderr)
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
