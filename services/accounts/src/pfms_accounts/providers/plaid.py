"""Plaid through its official SDK (`plaid-python`), pointed at a configurable host.

The SDK is synchronous (urllib3), so each call runs in a worker thread. Answers are read as JSON with
`Decimal` numbers (`_preload_content=False`): amounts never pass through a float. Transactions come from
`/transactions/sync`: pages of `added` / `modified` / `removed` until `has_more` is false, then
`next_cursor` is kept for the next sync; if Plaid reports the data changed mid-pagination the whole
fetch restarts from the cursor it began with (as Plaid documents).

Webhooks carry a JWT in `Plaid-Verification` (ES256), whose key Plaid hands out by key id from
`/webhook_verification_key/get`: the header must name ES256 and a key Plaid knows (unexpired), the
signature must verify, `iat` be at most five minutes old, and the SHA-256 of the raw body equal the
token's `request_body_sha256`.
"""

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

import jwt
import plaid
import urllib3
from plaid.api import plaid_api
from plaid.model.accounts_balance_get_request import AccountsBalanceGetRequest
from plaid.model.item_public_token_exchange_request import ItemPublicTokenExchangeRequest
from plaid.model.item_remove_request import ItemRemoveRequest
from plaid.model.transactions_sync_request import TransactionsSyncRequest
from plaid.model.webhook_verification_key_get_request import WebhookVerificationKeyGetRequest

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

REAUTH_CODES = frozenset(
    {
        "ITEM_LOGIN_REQUIRED",
        "INVALID_CREDENTIALS",
        "INVALID_MFA",
        "ITEM_LOCKED",
        "USER_SETUP_REQUIRED",
        "ACCESS_NOT_GRANTED",
        "PENDING_EXPIRATION",
        "PENDING_DISCONNECT",
    }
)
"""Plaid error (and ITEM webhook) codes only the person can resolve, in Link's update mode."""
WEBHOOK_MAX_AGE = 5 * 60
SYNC_PAGE = 500
TYPES = {"credit": AccountType.CREDIT_CARD, "loan": AccountType.LOAN, "investment": AccountType.INVESTMENT}
T = TypeVar("T")


class PlaidProvider:
    name: Literal["plaid"] = "plaid"

    def __init__(self, host: str, client_id: str, secret: str) -> None:
        configuration = plaid.Configuration(host=host, api_key={"clientId": client_id, "secret": secret})
        self.client = plaid_api.PlaidApi(plaid.ApiClient(configuration))
        self.keys: dict[str, dict[str, Any]] = {}
        """Webhook verification keys by key id, as Plaid returned them."""

    async def _call(self, method: Callable[..., Any], request: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            try:
                raw = method(request, _preload_content=False)
            except plaid.ApiException as exc:
                raise _error(exc) from None
            except urllib3.exceptions.HTTPError as exc:  # no answer at all (refused, DNS, timeout, TLS)
                raise ProviderError("UNREACHABLE", str(exc)[:300]) from None
            answer: dict[str, Any] = json.loads(raw.data, parse_float=Decimal)
            return answer

        return await asyncio.to_thread(run)

    async def link(self, public_token: str) -> Linked:
        answer = await self._call(
            self.client.item_public_token_exchange, ItemPublicTokenExchangeRequest(public_token=public_token)
        )
        return Linked(external_id=answer["item_id"], access_token=answer["access_token"])

    async def accounts(self, access_token: str) -> list[ProviderAccount]:
        answer = await self._call(
            self.client.accounts_balance_get, AccountsBalanceGetRequest(access_token=access_token)
        )
        institution = (answer.get("item") or {}).get("institution_id")
        found = []
        for account in answer["accounts"]:
            balances = account["balances"]
            currency = balances.get("iso_currency_code")
            if not currency or balances.get("current") is None:
                continue  # an unofficial (crypto) currency or no balance: not an account PFMS can keep
            kind = TYPES.get(account["type"], AccountType.CHECKING)
            if account["type"] == "depository" and account.get("subtype") == "savings":
                kind = AccountType.SAVINGS
            found.append(
                ProviderAccount(
                    external_id=account["account_id"],
                    name=account.get("official_name") or account["name"],
                    type=kind,
                    currency=currency,
                    balance=ledger_balance(kind, Decimal(balances["current"])),
                    institution=institution,
                )
            )
        return found

    async def transactions(self, access_token: str, cursor: str | None) -> Batch:
        for _ in range(3):
            try:
                return await self._sync(access_token, cursor)
            except ProviderError as exc:
                if exc.code != "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION":
                    raise
        raise ProviderError("TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", "data kept changing while paging")

    async def _sync(self, access_token: str, start: str | None) -> Batch:
        added: list[ProviderTransaction] = []
        removed: list[str] = []
        modified: list[ProviderTransaction] = []
        cursor = start
        while True:
            request = TransactionsSyncRequest(access_token=access_token, count=SYNC_PAGE)
            if cursor:
                request.cursor = cursor
            page = await self._call(self.client.transactions_sync, request)
            added += [_transaction(t) for t in page["added"] if t.get("iso_currency_code")]
            modified += [_transaction(t) for t in page["modified"] if t.get("iso_currency_code")]
            removed += [t["transaction_id"] for t in page["removed"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return Batch(added=added, cursor=cursor or "", removed=removed, modified=modified)

    async def unlink(self, access_token: str) -> None:
        await self._call(self.client.item_remove, ItemRemoveRequest(access_token=access_token))

    async def _key(self, kid: str) -> dict[str, Any]:
        if kid not in self.keys:
            try:
                answer = await self._call(
                    self.client.webhook_verification_key_get, WebhookVerificationKeyGetRequest(key_id=kid)
                )
            except ProviderError as exc:
                raise WebhookRefused(f"unknown key id: {exc.code}") from None
            self.keys[kid] = answer["key"]
        return self.keys[kid]

    async def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNote:
        token = headers.get("plaid-verification")
        if not token:
            raise WebhookRefused("no Plaid-Verification header")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise WebhookRefused("malformed token") from None
        if header.get("alg") != "ES256" or not isinstance(header.get("kid"), str):
            raise WebhookRefused("the token must be ES256 and name its key")
        key = await self._key(header["kid"])
        if key.get("expired_at") is not None:
            raise WebhookRefused("the key has expired")
        try:
            jwk = jwt.PyJWK({k: v for k, v in key.items() if k in ("kty", "crv", "x", "y", "kid", "use")}, "ES256")
            claims = jwt.decode(token, jwk.key, algorithms=["ES256"], options={"require": ["iat"]})
        except (jwt.InvalidTokenError, jwt.PyJWKError) as exc:
            raise WebhookRefused(f"bad signature: {exc}") from None
        if time.time() - float(claims["iat"]) > WEBHOOK_MAX_AGE:
            raise WebhookRefused("the token is older than five minutes")
        digest = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(digest, str(claims.get("request_body_sha256", ""))):
            raise WebhookRefused("the body is not the one signed")
        return read_webhook(json.loads(body))


def read_webhook(payload: dict[str, Any]) -> WebhookNote:
    kind, code = str(payload.get("webhook_type", "")), str(payload.get("webhook_code", ""))
    item = str(payload.get("item_id", ""))
    if kind == "TRANSACTIONS" and code in ("SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE", "INITIAL_UPDATE"):
        return WebhookNote(item, "sync", code)
    if kind == "ITEM":
        error = (payload.get("error") or {}).get("error_code")
        if code in REAUTH_CODES or (code == "ERROR" and error in REAUTH_CODES):
            return WebhookNote(item, "reauth", str(error or code))
        if code == "LOGIN_REPAIRED":
            return WebhookNote(item, "sync", code)
    return WebhookNote(item, "ignore", code)


def _transaction(raw: dict[str, Any]) -> ProviderTransaction:
    """Plaid's `amount` is positive when money leaves the account; the ledger's sign is the opposite."""
    return ProviderTransaction(
        external_id=raw["transaction_id"],
        account_external_id=raw["account_id"],
        amount=-Decimal(raw["amount"]),
        currency=raw["iso_currency_code"],
        occurred_on=date.fromisoformat(raw["date"]),
        description=(raw.get("name") or raw.get("merchant_name") or "Bank transaction")[:500],
        merchant=(raw.get("merchant_name") or None) and str(raw["merchant_name"])[:200],
        pending=bool(raw.get("pending")),
    )


def _error(exc: plaid.ApiException) -> ProviderError:
    try:
        body = json.loads(exc.body or b"{}")
    except ValueError:
        body = {}
    code = str(body.get("error_code") or f"HTTP_{exc.status}")
    return ProviderError(code, str(body.get("error_message") or exc.reason or "")[:300], reauth=code in REAUTH_CODES)
