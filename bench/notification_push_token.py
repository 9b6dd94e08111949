"""Benchmark: what the FCM access token costs a push (`pfms_notification.channels.FcmAccess`).

Starts a local OAuth token endpoint on loopback (it issues a token for every JWT-bearer grant it gets),
makes a throwaway service-account key whose `token_uri` points at it, and measures:

- `cached`: `token()` while the token is fresh (every push between refreshes pays this);
- `refresh`: a refresh — google-auth signs the RS256 assertion and trades it over HTTP, in a worker
  thread — as seen by the caller (once an hour per replica in production);
- `stampede`: 200 concurrent callers all told the token was refused (401): how many refreshes they
  cause (the lock should make it one) and how long the last of them waits.

Writes bench/results/notification-push.json. Usage: `uv run python bench/notification_push_token.py [--no-save]`.
"""

import asyncio
import itertools
import statistics
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form
from harness import arguments, load_average, machine, measured_at, write_results

from pfms_notification.channels import FcmAccess
from pfms_platform.testing.helpers import served

CACHED_CALLS = 100_000
REFRESHES = 50
STAMPEDE = 200


def token_endpoint(grants: list[str]) -> FastAPI:
    app = FastAPI()
    counter = itertools.count(1)

    @app.post("/token")
    async def token(grant_type: str = Form(), assertion: str = Form()) -> dict[str, Any]:
        grants.append(assertion)
        return {"access_token": f"ya29.bench-{next(counter)}", "expires_in": 3600, "token_type": "Bearer"}

    return app


def key_info(token_uri: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {
        "type": "service_account",
        "project_id": "pfms-bench",
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem.decode(),
        "client_email": "bench@pfms-bench.iam.gserviceaccount.com",
        "token_uri": token_uri,
    }


def ms(seconds: list[float], q: int) -> float:
    return round(statistics.quantiles(seconds, n=100)[q - 1] * 1000, 2)


async def run() -> dict[str, Any]:
    grants: list[str] = []
    async with served(token_endpoint(grants)) as url:
        access = FcmAccess(key_info(f"{url}/token"), timeout=10)
        token = await access.token()

        started = time.perf_counter()
        for _ in range(CACHED_CALLS):
            await access.token()
        cached_us = (time.perf_counter() - started) / CACHED_CALLS * 1e6

        refreshes: list[float] = []
        for _ in range(REFRESHES):
            began = time.perf_counter()
            token = await access.token(refused=token)
            refreshes.append(time.perf_counter() - began)

        before = len(grants)
        began = time.perf_counter()
        answers = await asyncio.gather(*(access.token(refused=token) for _ in range(STAMPEDE)))
        stampede_ms = (time.perf_counter() - began) * 1000
    return {
        "cached": {"calls": CACHED_CALLS, "per_call_us": round(cached_us, 2)},
        "refresh": {"count": REFRESHES, "p50_ms": ms(refreshes, 50), "p95_ms": ms(refreshes, 95)},
        "stampede": {
            "callers": STAMPEDE,
            "refreshes": len(grants) - before,
            "distinct_tokens": len(set(answers)),
            "all_answered_ms": round(stampede_ms, 1),
        },
    }


def main() -> None:
    args = arguments(__doc__)
    load = load_average()
    result = {"measured_at": measured_at(), **asyncio.run(run()), "machine": machine(load)}
    write_results("notification-push", result, save=not args.no_save)


if __name__ == "__main__":
    main()
