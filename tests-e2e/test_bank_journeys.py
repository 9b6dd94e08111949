"""Issue 11, bank connections, through the fleet: a person links a bank (Plaid, answered by a local server
replaying Plaid's documented responses — the accounts service is restarted pointed at it); the link opens
their accounts and imports the bank's history; then a signed Plaid webhook (ES256 JWT over the body)
makes the accounts service sync in the background, and the new transaction becomes an expense that the
ai service categorises and the ledger books on the account; the payroll credit became income.

The webhook comes through the gateway's public `accounts-webhooks` route (no user token; the accounts
service checks Plaid's signature)."""

import importlib.util
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from journeys import sign_up

from pfms_local.fleet import Fleet, wait_for
from pfms_platform.catalogue import SERVICES
from pfms_platform.testing.helpers import served

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
"""Slow: it restarts the accounts service twice (pointed at the replay server, then back), ~100 s on a loaded
machine — beyond what one change may add to the default run; `make test-slow` runs it."""

SUPPORT = Path(__file__).resolve().parents[1] / "services" / "accounts" / "tests"
CONNECTIONS = "/api/v1/accounts/connections"
ITEM = "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"


def _support(name: str) -> ModuleType:
    """The accounts tests' replay server and webhook signer, loaded from their files (one copy of them)."""
    spec = importlib.util.spec_from_file_location(f"bank_{name}", SUPPORT / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


replay_support, signing = _support("replay"), _support("signing")


async def _restart_accounts(fleet: Fleet, env: dict[str, str]) -> None:
    """Stop the accounts service and start it again with `env` on top of the fleet's settings."""
    for key in [k for k in fleet.extra_env if k.startswith("PFMS_ACCOUNTS_PLAID")]:
        del fleet.extra_env[key]
    fleet.extra_env.update(env)
    await fleet.supervisor.stop(["accounts"])
    task = fleet.supervisor["accounts"].task
    if task is not None:
        await task
    fleet.supervisor.start(fleet.service_spec(next(s for s in SERVICES if s.name == "accounts")))
    await fleet.supervisor.wait_ready(["accounts"], 90)


@pytest.fixture
async def plaid(fleet: Fleet) -> AsyncIterator[Any]:
    replay = replay_support.Replay()
    async with served(replay.app()) as url:
        replay.url = url
        replay_support.plaid_answers(replay)
        await _restart_accounts(
            fleet,
            {
                "PFMS_ACCOUNTS_PLAID_HOST": url,
                "PFMS_ACCOUNTS_PLAID_CLIENT_ID": "e2e-client",
                "PFMS_ACCOUNTS_PLAID_SECRET": "e2e-secret",
            },
        )
        try:
            yield replay
        finally:
            await _restart_accounts(fleet, {})


async def test_a_bank_webhook_imports_transactions_that_become_categorised_expenses(
    gateway: httpx.AsyncClient, fleet: Fleet, plaid: Any
) -> None:
    person = await sign_up(gateway, wait_profile=False)

    async def categories() -> dict[str, str] | None:
        response = await gateway.get("/api/v1/categories", params={"limit": 100}, headers=person.headers)
        found = {c["id"]: c["name"] for c in response.json()["data"]} if response.status_code == 200 else {}
        return found or None

    names = await wait_for(categories, timeout=30, message="default categories from user.created")
    signer = signing.PlaidSigner.publish(plaid)

    linked = await gateway.post(
        CONNECTIONS, json={"provider": "plaid", "public_token": "public-sandbox-e2e"}, headers=person.headers
    )
    assert linked.status_code == 201, linked.text
    connection = linked.json()["data"]
    checking = connection["accounts"][0]

    body = signing.plaid_body(ITEM)
    # Plaid calls the gateway's public webhook route: no user token, only its signature.
    forged = await gateway.post(f"{CONNECTIONS}/webhooks/plaid", content=body, headers=signer.headers(body, age=600))
    assert forged.status_code == 401
    hook = await gateway.post(f"{CONNECTIONS}/webhooks/plaid", content=body, headers=signer.headers(body))
    assert hook.status_code == 200 and hook.json()["data"]["duplicate"] is False, hook.text

    async def expenses() -> dict[str, dict[str, Any]] | None:
        response = await gateway.get("/api/v1/expenses", params={"limit": 100}, headers=person.headers)
        if response.status_code != 200:
            return None
        return {e["description"]: e for e in response.json()["data"]}

    async def categorised_coffee() -> dict[str, Any] | None:
        coffee = (await expenses() or {}).get("STARBUCKS STORE 800")
        return coffee if coffee and coffee["category_id"] else None

    coffee = await wait_for(categorised_coffee, timeout=60, message="the webhook's import, categorised")
    assert (coffee["amount"], coffee["account_id"], coffee["source"]) == ("5.75", checking["account_id"], "import")
    assert coffee["category_id"] in names  # categorised by the ai service over the bus
    history = await expenses() or {}
    assert history["WHOLE FOODS MARKET #1234"]["account_id"] == checking["account_id"]  # the link's own import
    assert history["Uber 063015 SF**POOL**"]["account_id"] == connection["accounts"][1]["account_id"]

    async def payroll() -> bool:
        response = await gateway.get("/api/v1/income/transactions", headers=person.headers)
        return response.status_code == 200 and any(t["net_amount"] == "2500.00" for t in response.json()["data"])

    await wait_for(payroll, timeout=30, message="the payroll credit recorded as income")

    async def booked() -> dict[str, Any] | None:
        shown = await gateway.get(f"{CONNECTIONS}/{connection['id']}", headers=person.headers)
        if shown.status_code != 200:
            return None
        account: dict[str, Any] = shown.json()["data"]["accounts"][0]
        return account if Decimal(account["difference"]) == Decimal("5.75") else None

    # The history the link imported is booked on the account, so the ledger met the bank's balance; the
    # replayed bank still shows its old balance after the new coffee: the difference is shown, not booked.
    shown = await wait_for(booked, timeout=30, message="imports booked on the account by expense and income events")
    assert Decimal(shown["ledger_balance"]) == Decimal("104.50")
