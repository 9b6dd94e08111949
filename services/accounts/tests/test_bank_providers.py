"""The Plaid and Belvo adapters against a local server replaying their documented answers: linking,
accounts with balances in the ledger's sign, incremental transactions (Plaid's cursor across pages and a
restart after a mid-pagination change; Belvo's date window and `next` pages), errors that need the person
to re-authenticate, unlinking, and webhook verification (Plaid's ES256 JWT; Belvo's secret)."""

import base64
from decimal import Decimal

import pytest

from pfms_accounts.domain import AccountType
from pfms_accounts.providers.base import ProviderError, WebhookRefused
from pfms_accounts.providers.belvo import BelvoProvider
from pfms_accounts.providers.plaid import PlaidProvider

from .replay import replaying
from .signing import BELVO_SECRET, PlaidSigner, belvo_body, plaid_body

ITEM = "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"
TOKEN = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"
LINK = "8848bd0c-9c7e-4f53-a732-ec896b11d4c4"


async def test_plaid_links_reads_accounts_and_syncs_incrementally() -> None:
    async with replaying() as replay:
        plaid = PlaidProvider(replay.url, "client-id", "secret")
        linked = await plaid.link("public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d")
        assert (linked.external_id, linked.access_token) == (ITEM, TOKEN)
        exchange = replay.called("/item/public_token/exchange")[0]
        assert exchange.json["public_token"].startswith("public-sandbox")
        assert (exchange.headers["plaid-client-id"], exchange.headers["plaid-secret"]) == ("client-id", "secret")

        accounts = await plaid.accounts(TOKEN)
        assert [(a.type, a.currency, a.balance) for a in accounts] == [
            (AccountType.CHECKING, "USD", Decimal("110.25")),
            (AccountType.CREDIT_CARD, "USD", Decimal("-410")),  # owed: negative on the ledger
        ]  # the BTC balance (no ISO currency) is skipped
        assert accounts[0].name == "Plaid Gold Standard 0% Interest Checking"

        first = await plaid.transactions(TOKEN, None)
        assert [(t.external_id[:4], t.amount, t.pending) for t in first.added] == [
            ("lPNj", Decimal("-72.10"), False),
            ("yhnU", Decimal("-23.4"), False),
            ("4WPD", Decimal("2500"), False),  # payroll: negative at Plaid, money in
            ("no86", Decimal("-5.75"), True),
        ]
        assert first.added[0].merchant == "Whole Foods" and first.added[2].merchant is None
        cursors = [c.json.get("cursor") for c in replay.called("/transactions/sync")]
        assert cursors[0] is None and cursors[1] is not None  # the second page continues from the first's cursor

        more = await plaid.transactions(TOKEN, first.cursor)
        assert [t.external_id[:4] for t in more.added] == ["AmQ7"]
        assert more.removed == ["no86Eox18VHMvaOVL7gPUM9ap3aR1LsAVZ5nc"]
        assert [(t.external_id[:4], t.amount) for t in more.modified] == [("lPNj", Decimal("-72.1"))]
        assert more.cursor != first.cursor

        # Data changed while paging: Plaid says to restart from the cursor the fetch began with.
        replay.calls.clear()
        mutation = replay.fixture("plaid/error_mutation_during_pagination.json")
        replay.answer("POST", "/transactions/sync", mutation, status=400, times=1, cursor=cursors[1])
        again = await plaid.transactions(TOKEN, None)
        assert len(again.added) == 4
        assert [c.json.get("cursor") is None for c in replay.called("/transactions/sync")] == [True, False, True, False]

        replay.answer("POST", "/transactions/sync", replay.fixture("plaid/error_item_login_required.json"), status=400)
        with pytest.raises(ProviderError) as caught:
            await plaid.transactions(TOKEN, first.cursor)
        assert (caught.value.code, caught.value.reauth) == ("ITEM_LOGIN_REQUIRED", True)

        await plaid.unlink(TOKEN)
        assert replay.called("/item/remove")[0].json["access_token"] == TOKEN


async def test_belvo_links_reads_accounts_and_pages_transactions() -> None:
    async with replaying() as replay:
        belvo = BelvoProvider(replay.url, "secret-id", "secret-password", BELVO_SECRET, initial_days=30)
        try:
            linked = await belvo.link(LINK)
            assert (linked.external_id, linked.institution) == (LINK, "erebor_mx_retail")
            auth = replay.calls[0].headers["authorization"]
            assert auth == "Basic " + base64.b64encode(b"secret-id:secret-password").decode()

            accounts = await belvo.accounts(LINK)
            assert [(a.type, a.currency, a.balance, a.institution) for a in accounts] == [
                (AccountType.CHECKING, "MXN", Decimal("5874.13"), "erebor_mx_retail")
            ]
            assert replay.called("/api/accounts/")[0].json == {"link": LINK, "save_data": True}

            batch = await belvo.transactions(LINK, None)
            assert [(t.amount, t.pending, t.merchant) for t in batch.added] == [
                (Decimal("-2145.45"), False, "Seven Buddhas"),
                (Decimal("18000.00"), False, None),
                (Decimal("-350.50"), True, "OXXO"),
            ]
            assert batch.cursor == "2026-11-21"  # the latest value date: the next sync starts there
            pages = replay.called("/api/transactions/")
            assert pages[0].query["link"] == LINK and "value_date__gte" in pages[0].query
            assert pages[1].query["page"] == "2"  # followed `next`

            replay.calls.clear()
            await belvo.transactions(LINK, batch.cursor)
            assert replay.called("/api/transactions/")[0].query["value_date__gte"] == "2026-11-21"

            replay.answer("POST", "/api/accounts/", replay.fixture("belvo/error_login.json"), status=400)
            with pytest.raises(ProviderError) as caught:
                await belvo.accounts(LINK)
            assert (caught.value.code, caught.value.reauth) == ("login_error", True)

            await belvo.unlink(LINK)
            assert replay.calls[-1].method == "DELETE"
        finally:
            await belvo.aclose()


async def test_webhooks_verify_or_are_refused() -> None:
    async with replaying() as replay:
        plaid = PlaidProvider(replay.url, "client-id", "secret")
        signer = PlaidSigner.publish(replay)
        body = plaid_body(ITEM)
        note = await plaid.verify_webhook(body, _lower(signer.headers(body)))
        assert (note.external_id, note.action, note.code) == (ITEM, "sync", "SYNC_UPDATES_AVAILABLE")
        error = plaid_body(ITEM, "ITEM", "ERROR", error={"error_code": "ITEM_LOGIN_REQUIRED"})
        assert (await plaid.verify_webhook(error, _lower(signer.headers(error)))).action == "reauth"
        assert len(replay.called("/webhook_verification_key/get")) == 1  # the key is cached by its id

        refused = {
            "no header": {},
            "another body": _lower(signer.headers(plaid_body("another-item"))),
            "older than 5 minutes": _lower(signer.headers(body, age=301)),
            "not ES256": _lower(signer.headers(body, alg="HS256")),
            "unknown key": _lower(PlaidSigner("never-published", signer.key).headers(body)),
            "malformed": {"plaid-verification": "x.y.z"},
        }
        stranger = PlaidSigner(signer.kid, PlaidSigner.publish(replay, kid="other").key)  # signed with another key
        refused["wrong key"] = _lower(stranger.headers(body))
        for why, headers in refused.items():
            with pytest.raises(WebhookRefused):
                await plaid.verify_webhook(body, headers)
                pytest.fail(why)

        belvo = BelvoProvider(replay.url, "id", "password", BELVO_SECRET)
        try:
            body = belvo_body(LINK)
            assert (await belvo.verify_webhook(body, {"authorization": BELVO_SECRET})).action == "sync"
            links = belvo_body(LINK, "LINKS", "invalid_credentials")
            assert (await belvo.verify_webhook(links, {"authorization": BELVO_SECRET})).action == "reauth"
            for headers in ({}, {"authorization": "Bearer guessed"}):
                with pytest.raises(WebhookRefused):
                    await belvo.verify_webhook(body, headers)
            with pytest.raises(WebhookRefused):
                await BelvoProvider(replay.url, "id", "password", "").verify_webhook(body, {"authorization": ""})
        finally:
            await belvo.aclose()


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


async def test_an_unreachable_provider_is_a_provider_error_not_a_crash() -> None:
    """Nothing listening (or no DNS, as offline): the link is refused cleanly (422 at the API), never a 500."""
    for provider in (
        PlaidProvider("http://127.0.0.1:9", "client-id", "secret"),
        BelvoProvider("http://127.0.0.1:9", "id", "password", BELVO_SECRET),
    ):
        with pytest.raises(ProviderError) as refused:
            await provider.link("public-sandbox-x")
        assert refused.value.code == "UNREACHABLE"
