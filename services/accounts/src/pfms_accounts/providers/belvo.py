"""Belvo over its REST API with httpx (its Python SDK is unmaintained and synchronous).

Requests authenticate with the secret id and password (HTTP Basic). A link's accounts are retrieved
fresh from the institution (`POST /api/accounts/`, which refreshes balances); transactions are read by
value date (`GET /api/transactions/?link=…&value_date__gte=…`), following `next` across pages. The
cursor is the latest value date seen: the next sync starts again on that day (transactions of a day may
still arrive) and the per-transaction dedupe drops what was already imported.

Belvo signs nothing: its webhooks carry, in `Authorization`, the secret configured with the webhook
subscription; it is compared in constant time.
"""

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import httpx

from pfms_accounts.domain import AccountType
from pfms_accounts.providers.base import (
    Batch,
    Linked,
    ProviderAccount,
    ProviderError,
    ProviderTransaction,
    WebhookNote,
    WebhookRefused,
    ledger_balance,
)

REAUTH_CODES = frozenset({"login_error", "session_expired", "token_required", "invalid_credentials"})
"""Belvo error (and LINKS webhook) codes that need the person to log in at the bank again."""
TYPES = {
    "SAVINGS_ACCOUNT": AccountType.SAVINGS,
    "CREDIT_CARD": AccountType.CREDIT_CARD,
    "LOAN_ACCOUNT": AccountType.LOAN,
    "INVESTMENT_ACCOUNT": AccountType.INVESTMENT,
    "PENSION_FUND_ACCOUNT": AccountType.INVESTMENT,
}
PAGE_SIZE = 100


class BelvoProvider:
    name: Literal["belvo"] = "belvo"

    def __init__(
        self, host: str, secret_id: str, secret_password: str, webhook_secret: str, *, initial_days: int = 90
    ) -> None:
        self.http = httpx.AsyncClient(base_url=host, auth=(secret_id, secret_password), timeout=30.0)
        self.webhook_secret = webhook_secret
        self.initial_days = initial_days

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, url: str, **kw: Any) -> Any:
        try:
            response = await self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise ProviderError("UNREACHABLE", str(exc)[:300]) from None
        if response.status_code >= 400:
            raise _error(response)
        return json.loads(response.content, parse_float=Decimal) if response.content else None

    async def link(self, public_token: str) -> Linked:
        """Belvo's widget hands the app the link id; the link is looked up to check it is usable."""
        link = await self._call("GET", f"/api/links/{public_token}/")
        if link.get("status") not in (None, "valid"):
            raise ProviderError(str(link["status"]), "the link is not valid", reauth=True)
        return Linked(external_id=link["id"], access_token=link["id"], institution=link.get("institution"))

    async def accounts(self, access_token: str) -> list[ProviderAccount]:
        rows = await self._call("POST", "/api/accounts/", json={"link": access_token, "save_data": True})
        found = []
        for account in rows:
            balance = (account.get("balance") or {}).get("current")
            if balance is None or not account.get("currency"):
                continue
            kind = TYPES.get(account.get("category") or "", AccountType.CHECKING)
            found.append(
                ProviderAccount(
                    external_id=account["id"],
                    name=account.get("name") or "Bank account",
                    type=kind,
                    currency=account["currency"],
                    balance=ledger_balance(kind, Decimal(balance)),
                    institution=(account.get("institution") or {}).get("name"),
                )
            )
        return found

    async def transactions(self, access_token: str, cursor: str | None) -> Batch:
        start = date.fromisoformat(cursor) if cursor else datetime.now(UTC).date() - timedelta(days=self.initial_days)
        params: dict[str, Any] | None = {
            "link": access_token,
            "value_date__gte": start.isoformat(),
            "page_size": PAGE_SIZE,
        }
        url = "/api/transactions/"
        added: list[ProviderTransaction] = []
        while url:
            page = await self._call("GET", url, params=params)
            added += [_transaction(t) for t in page["results"]]
            url, params = page.get("next"), None  # `next` is a full URL with the query
        latest = max((t.occurred_on for t in added), default=start)
        return Batch(added=added, cursor=latest.isoformat())

    async def unlink(self, access_token: str) -> None:
        try:
            await self._call("DELETE", f"/api/links/{access_token}/")
        except ProviderError as exc:
            if exc.code != "HTTP_404":  # already gone at Belvo
                raise

    async def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNote:
        given = headers.get("authorization", "")
        if not self.webhook_secret or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            raise WebhookRefused("the webhook secret does not match")
        return read_webhook(json.loads(body))


def read_webhook(payload: dict[str, Any]) -> WebhookNote:
    kind, code = str(payload.get("webhook_type", "")), str(payload.get("webhook_code", ""))
    link = str(payload.get("link_id", ""))
    if kind == "TRANSACTIONS":
        return WebhookNote(link, "sync", code)
    if kind == "LINKS" and code in REAUTH_CODES:
        return WebhookNote(link, "reauth", code)
    return WebhookNote(link, "ignore", code)


def _transaction(raw: dict[str, Any]) -> ProviderTransaction:
    """Belvo amounts are positive; `type` OUTFLOW leaves the account."""
    amount = abs(Decimal(raw["amount"]))
    merchant = (raw.get("merchant") or {}).get("name")
    return ProviderTransaction(
        external_id=raw["id"],
        account_external_id=raw["account"]["id"],
        amount=-amount if raw.get("type") == "OUTFLOW" else amount,
        currency=raw["currency"],
        occurred_on=date.fromisoformat(raw["value_date"]),
        description=(raw.get("description") or merchant or "Bank transaction")[:500],
        merchant=merchant[:200] if merchant else None,
        pending=raw.get("status") == "PENDING",
    )


def _error(response: httpx.Response) -> ProviderError:
    try:
        body = response.json()
    except ValueError:
        body = None
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = str(first.get("code") or f"HTTP_{response.status_code}")
    return ProviderError(code, str(first.get("message") or response.reason_phrase)[:300], reauth=code in REAUTH_CODES)
