"""Write the fleet's AsyncAPI 2.6 document from the event models (`pfms-asyncapi [path]`)."""

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from pfms_contracts.base import CloudEvent
from pfms_contracts.registry import EVENTS, EXCHANGES

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "asyncapi.yaml"


def _hoist_defs(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    for name, sub in schema.pop("$defs", {}).items():
        defs[name] = sub
    return schema


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    envelope = CloudEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["CloudEvent"] = _hoist_defs(envelope, schemas)
    for event_type, model in sorted(EVENTS.items()):
        name = f"{model.__name__}V{model.version}"
        payload = _hoist_defs(model.model_json_schema(ref_template="#/components/schemas/{model}"), schemas)
        schemas[name] = payload
        messages[name] = {
            "name": event_type,
            "title": f"{event_type} v{model.version}",
            "summary": model.summary,
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type},
                            "data": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
        }
        channels[event_type] = {
            "description": f"Routing key `{event_type}` on the `{model.exchange}` topic exchange.",
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": model.exchange, "type": "topic", "durable": True, "autoDelete": False},
                    "bindingVersion": "0.2.0",
                }
            },
            "subscribe": {"message": {"$ref": f"#/components/messages/{name}"}},
        }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "PFMS events",
            "version": "1.0.0",
            "description": "Every event the PFMS fleet publishes. Exchanges:\n"
            + "\n".join(f"- `{k}`: {v}" for k, v in EXCHANGES.items()),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=True, allow_unicode=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pfms-asyncapi", description="Write the AsyncAPI document of the contracts.")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if PATH differs from a fresh render")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.path.exists() or args.path.read_text() != text:
            print(f"{args.path} is stale: run `make asyncapi`", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(text)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
