"""Render kong.yml for real Kong: fill the `jwks-from-auth` consumer's jwt_secrets from auth's JWKS.

    python -m pfms_gateway.render --jwks http://auth:3001/.well-known/jwks.json --out /kong/kong.yml

Runs as an init step before Kong (compose, Kubernetes). One jwt_secret per RSA signing key, keyed
by its `kid`, so Kong verifies tokens signed with the current or the previous key during rotation.
After a rotation, render again and `kong reload` (or restart Kong) so it learns the new key.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from pfms_gateway.config import JWKS_TAG, ConfigError, parse_config
from pfms_gateway.jwks import fetch_jwks, secret_to_yaml, secrets_from_jwks
from pfms_gateway.main import DEFAULT_CONFIG


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PEM keys) as literal blocks, as a human would write them."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def render(data: dict[str, Any], jwks: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of the parsed kong.yml with every jwks-from-auth consumer's secrets set from the JWKS."""
    secrets = secrets_from_jwks(jwks)
    out = dict(data)
    consumers = []
    tagged = 0
    for consumer in data.get("consumers") or []:
        consumer = dict(consumer)
        if JWKS_TAG in (consumer.get("tags") or []):
            consumer["jwt_secrets"] = [secret_to_yaml(s) for s in secrets]
            tagged += 1
        consumers.append(consumer)
    if not tagged:
        raise ConfigError(f"no consumer is tagged {JWKS_TAG!r}")
    out["consumers"] = consumers
    parse_config(out, "rendered kong.yml")  # what Kong gets must still be what the local gateway accepts
    return out, [s.key for s in secrets]


def _fetch_with_retry(source: str, wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        try:
            return fetch_jwks(source)
        except (OSError, ValueError) as exc:
            if time.monotonic() >= deadline:
                raise
            print(f"render: JWKS not available yet ({exc}); retrying", file=sys.stderr)
            time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pfms_gateway.render", description=__doc__.splitlines()[0])
    p.add_argument("--jwks", required=True, help="auth's JWKS: http(s) URL or a file")
    p.add_argument("--out", required=True, help="where to write the rendered kong.yml")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="the committed kong.yml")
    p.add_argument("--wait", type=float, default=0.0, help="keep retrying the JWKS for this many seconds")
    p.add_argument("--allow-empty", action="store_true", help="write the file even if the JWKS has no usable key")
    args = p.parse_args(argv)
    try:
        data = yaml.safe_load(Path(args.config).read_text())
        parse_config(data, args.config)
        jwks = _fetch_with_retry(args.jwks, args.wait)
        rendered, kids = render(data, jwks)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    if not kids and not args.allow_empty:
        print(
            "render: the JWKS has no RSA signing key with a kid; refusing to write a config that rejects every token",
            file=sys.stderr,
        )
        return 1
    text = f"# Rendered by pfms_gateway.render from {args.config} and {args.jwks}; do not edit.\n"
    text += yaml.dump(rendered, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".kong.", suffix=".yml")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    print(f"render: wrote {out} with {len(kids)} key(s): {', '.join(kids) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
