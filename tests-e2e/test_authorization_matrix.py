"""Broken object level authorisation, route by route, from the services' own OpenAPI documents.

Every public route with a path parameter (`/api/v1/...{id}...`) of every service is listed in
ROUTES (which of the owner's objects fills each parameter) or in EXCLUDED (why not). The owner
creates one real object of each kind through the gateway (RECIPES); a second user then calls every
method of every such route with the owner's ids: each answer must be 404 in the error envelope, and
afterwards the owner's GET of each object answers exactly what it did before. A route that appears
in an OpenAPI document without a recipe fails `test_every_path_id_route_is_covered`.

Each user may make 100 requests a minute (the services' per-user limit, counted fleet-wide), so the
work is shared by three owner/attacker pairs, one per OWNER_GROUPS entry.

Group roles: a viewer of a group reads it, and every write route of the group answers 403 for them
(services/group/README.md), changing nothing.
"""

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from journeys import Person, sign_up

from pfms_local.fleet import Fleet, wait_for
from pfms_platform.catalogue import SERVICES

pytestmark = pytest.mark.e2e

Json = Any
TODAY = datetime.now(UTC).date()
DAY = (TODAY - timedelta(days=3)).isoformat()
LATER = (TODAY + timedelta(days=20)).isoformat()
"""Recurring things start later: a due occurrence made by a job meanwhile would change what the owner sees."""
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Recipe:
    """How the owner makes one object: `POST path body` (or a GET that lists it), and where its id is.

    `@key` in a path or body stands for the id of an object made earlier; `witness` is the GET whose
    answer must not change (default: `path/@key`); `ready` waits for something an event makes."""

    key: str
    path: str
    body: Json = None
    method: str = "POST"
    id_at: str = "id"
    witness: str | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    form: dict[str, str] | None = None
    ready: bool = False
    """The object appears later (made by a consumer or a job): poll the listing until it is there."""

    def witness_path(self) -> str:
        return self.witness or f"{self.path}/@{self.key}"


CSV = b"Date,Payee,Amount\r\n2026-01-02,Corner Cafe,12.50\r\n"
ME = "@me"
"""The owner's own user id."""

RECIPES: tuple[Recipe, ...] = (
    # auth and user
    Recipe("session", "/api/v1/auth/sessions", method="GET", id_at="0.id", witness="/api/v1/auth/sessions"),
    Recipe(
        "invitation",
        "/api/v1/user/family/invite",
        {"email": "someone.else@example.com", "relationship": "sibling"},
        witness="/api/v1/user/family",
    ),
    Recipe("space", "/api/v1/spaces", {"kind": "household", "name": "Matrix"}),
    Recipe(
        "space_invitation",
        "/api/v1/spaces/@space/invitations",
        {"email": "someone.else@example.com", "role": "member"},
        witness="/api/v1/spaces/@space/invitations",
    ),
    # expense
    Recipe("category", "/api/v1/categories", {"name": "Matrix"}),
    Recipe("category2", "/api/v1/categories", {"name": "Matrix two"}),
    Recipe(
        "deductible",
        "/api/v1/tax/deductible-categories",
        {"category_id": "@category", "deduction_category": "medical"},
        witness="/api/v1/tax/deductible-categories",
    ),
    Recipe(
        "expense",
        "/api/v1/expenses",
        {"amount": "12.00", "currency": "USD", "expense_date": DAY, "description": "Cafe", "category_id": "@category"},
    ),
    Recipe(
        "recurring",
        "/api/v1/expenses/recurring",
        {"name": "Rent", "amount": "900.00", "currency": "USD", "frequency": "monthly", "start_date": LATER},
    ),
    Recipe(
        "budget",
        "/api/v1/budgets",
        {"name": "Food", "amount": "300.00", "currency": "USD", "period": "monthly", "start_date": DAY},
    ),
    Recipe("habit", "/api/v1/habits", {"name": "Coffee", "unit_cost": "3.50", "currency": "USD"}),
    Recipe("habit_log", "/api/v1/habits/@habit/log", {"quantity": 1}, witness="/api/v1/habits/@habit/logs"),
    Recipe(
        "mapping",
        "/api/v1/expenses/import-mappings",
        {"name": "Matrix", "mapping": {"date": "Date", "amount": "Amount"}},
        witness="/api/v1/expenses/import-mappings",
    ),
    Recipe(
        "batch",
        "/api/v1/expenses/bulk-import",
        files={"file": ("bank.csv", CSV, "text/csv")},
        form={"mapping_id": "@mapping", "currency": "USD"},
        witness="/api/v1/expenses/imports/@batch",
    ),
    # income
    Recipe("source", "/api/v1/income/sources", {"name": "Salary", "type": "salary", "currency": "USD"}),
    Recipe("income_tx", "/api/v1/income/transactions", {"amount": "1000.00", "currency": "USD", "date": DAY}),
    # tax
    Recipe(
        "deduction",
        "/api/v1/tax/deductions",
        {"tax_year": TODAY.year, "category": "charitable", "amount": "50.00", "currency": "USD"},
    ),
    Recipe(
        "suggestion",
        "/api/v1/tax/deduction-suggestions",
        method="GET",
        id_at="0.id",
        witness="/api/v1/tax/deduction-suggestions",
        ready=True,
    ),
    # investment
    Recipe("portfolio", "/api/v1/portfolios", {"name": "Matrix", "base_currency": "USD"}),
    Recipe(
        "asset",
        "/api/v1/portfolios/@portfolio/assets",
        {"asset_type": "stock", "symbol": "AAPL"},
        witness="/api/v1/portfolios/@portfolio/assets",
    ),
    Recipe(
        "trade",
        "/api/v1/portfolios/@portfolio/transactions",
        {"asset_id": "@asset", "transaction_type": "buy", "date": DAY, "quantity": "2", "price": "100"},
        witness="/api/v1/portfolios/@portfolio/transactions",
    ),
    Recipe("watch", "/api/v1/watchlists", {"symbol": "MSFT"}, witness="/api/v1/watchlists"),
    Recipe(
        "alert",
        "/api/v1/watchlists/alerts",
        {"symbol": "MSFT", "condition": "above", "threshold": "1000"},
        witness="/api/v1/watchlists/alerts",
    ),
    # loan
    Recipe("contact", "/api/v1/contacts", {"contact_type": "external", "name": "Karim"}),
    Recipe("contact_group", "/api/v1/contacts/groups", {"name": "Friends"}),
    Recipe("template", "/api/v1/loans/templates", {"template_name": "Small", "type": "lent"}),
    Recipe(
        "loan",
        "/api/v1/loans",
        {
            "type": "lent",
            "contact_id": "@contact",
            "principal_amount": "300.00",
            "currency": "USD",
            "start_date": TODAY.isoformat(),
        },
    ),
    Recipe(
        "dispute",
        "/api/v1/loans/@loan/disputes",
        {"dispute_type": "amount", "description": "matrix"},
        witness="/api/v1/loans/@loan/disputes",
    ),
    # group
    Recipe("group", "/api/v1/groups", {"name": "Matrix", "currency": "USD"}),
    Recipe(
        "group_expense",
        "/api/v1/groups/@group/expenses",
        {"description": "Dinner", "amount": "30.00", "expense_date": DAY},
    ),
    Recipe(
        "group_recurring",
        "/api/v1/groups/@group/recurring",
        {"description": "Rent", "amount": "30.00", "frequency": "monthly", "start_date": LATER},
        witness="/api/v1/groups/@group/recurring",
    ),
    # notification
    Recipe(
        "webhook",
        "/api/v1/notifications/webhooks",
        {"url": "https://93.184.216.34/pfms", "event_types": ["goal.achieved"]},
    ),
    Recipe(
        "device",
        "/api/v1/notifications/devices",
        {"token": "matrix-device", "platform": "ios"},
        witness="/api/v1/notifications/devices",
    ),
    # automation
    Recipe(
        "rule",
        "/api/v1/automation/rules",
        {
            "name": "Matrix",
            "trigger": {"event": "expense.created"},
            "conditions": {"all": [{"field": "description", "op": "contains", "value": "MATRIX"}]},
            "actions": [{"type": "add_tags", "tags": ["matrix"]}],
        },
    ),
    Recipe(
        "job",
        "/api/v1/automation/rules/@rule/apply",
        {"from": (TODAY - timedelta(days=30)).isoformat(), "to": TODAY.isoformat()},
        witness="/api/v1/automation/jobs/@job",
    ),
    # report
    Recipe("report", "/api/v1/reports/export", witness="/api/v1/reports/@report"),
    # savings
    Recipe("goal", "/api/v1/savings/goals", {"name": "Matrix", "target_amount": "1000.00", "currency": "USD"}),
    Recipe(
        "saving_rule",
        "/api/v1/savings/rules",
        {"goal_id": "@goal", "name": "Round", "kind": "round_up", "round_up_unit": "5"},
    ),
    # accounts
    Recipe(
        "account", "/api/v1/accounts", {"name": "Matrix", "type": "wallet", "currency": "USD", "opening_balance": "100"}
    ),
    Recipe("card", "/api/v1/accounts/@account/cards", {"label": "Matrix"}, witness="/api/v1/accounts/cards/@card"),
)

ROUTES: dict[str, dict[str, str]] = {
    "/api/v1/auth/sessions/{session_id}": {"session_id": "session"},
    "/api/v1/user/family/invitations/{invitation_id}/accept": {"invitation_id": "invitation"},
    "/api/v1/user/family/invitations/{invitation_id}/decline": {"invitation_id": "invitation"},
    "/api/v1/user/family/{member_id}": {"member_id": "invitation"},
    "/api/v1/spaces/{space_id}": {"space_id": "space"},
    "/api/v1/spaces/{space_id}/invitations": {"space_id": "space"},
    "/api/v1/spaces/{space_id}/invitations/{invitation_id}": {"space_id": "space", "invitation_id": "space_invitation"},
    "/api/v1/spaces/{space_id}/members/{member_id}": {"space_id": "space", "member_id": "me"},
    "/api/v1/spaces/{space_id}/leave": {"space_id": "space"},
    "/api/v1/spaces/{space_id}/transfer": {"space_id": "space"},
    "/api/v1/spaces/invitations/{invitation_id}/accept": {"invitation_id": "space_invitation"},
    "/api/v1/spaces/invitations/{invitation_id}/decline": {"invitation_id": "space_invitation"},
    "/api/v1/expenses/recurring/{recurring_id}": {"recurring_id": "recurring"},
    "/api/v1/expenses/recurring/{recurring_id}/upcoming": {"recurring_id": "recurring"},
    "/api/v1/expenses/recurring/{recurring_id}/pause": {"recurring_id": "recurring"},
    "/api/v1/expenses/recurring/{recurring_id}/resume": {"recurring_id": "recurring"},
    "/api/v1/expenses/imports/{batch_id}": {"batch_id": "batch"},
    "/api/v1/expenses/imports/{batch_id}/issues": {"batch_id": "batch"},
    "/api/v1/expenses/import-mappings/{mapping_id}": {"mapping_id": "mapping"},
    "/api/v1/expenses/{expense_id}": {"expense_id": "expense"},
    "/api/v1/categories/{category_id}": {"category_id": "category"},
    "/api/v1/categories/{category_id}/merge": {"category_id": "category"},
    "/api/v1/budgets/{budget_id}": {"budget_id": "budget"},
    "/api/v1/budgets/{budget_id}/status": {"budget_id": "budget"},
    "/api/v1/habits/{habit_id}": {"habit_id": "habit"},
    "/api/v1/habits/{habit_id}/log": {"habit_id": "habit"},
    "/api/v1/habits/{habit_id}/logs": {"habit_id": "habit"},
    "/api/v1/habits/{habit_id}/logs/{log_id}": {"habit_id": "habit", "log_id": "habit_log"},
    "/api/v1/habits/{habit_id}/stats": {"habit_id": "habit"},
    "/api/v1/income/sources/{source_id}": {"source_id": "source"},
    "/api/v1/income/transactions/{transaction_id}": {"transaction_id": "income_tx"},
    "/api/v1/portfolios/{portfolio_id}": {"portfolio_id": "portfolio"},
    "/api/v1/portfolios/{portfolio_id}/assets": {"portfolio_id": "portfolio"},
    "/api/v1/portfolios/{portfolio_id}/assets/{asset_id}": {"portfolio_id": "portfolio", "asset_id": "asset"},
    "/api/v1/portfolios/{portfolio_id}/transactions": {"portfolio_id": "portfolio"},
    "/api/v1/portfolios/{portfolio_id}/transactions/{transaction_id}": {
        "portfolio_id": "portfolio",
        "transaction_id": "trade",
    },
    "/api/v1/portfolios/{portfolio_id}/assets/{asset_id}/position": {"portfolio_id": "portfolio", "asset_id": "asset"},
    "/api/v1/portfolios/{portfolio_id}/analytics": {"portfolio_id": "portfolio"},
    "/api/v1/portfolios/{portfolio_id}/snapshots": {"portfolio_id": "portfolio"},
    "/api/v1/watchlists/{item_id}": {"item_id": "watch"},
    "/api/v1/watchlists/alerts/{alert_id}": {"alert_id": "alert"},
    "/api/v1/contacts/groups/{group_id}": {"group_id": "contact_group"},
    "/api/v1/contacts/groups/{group_id}/members/{contact_id}": {"group_id": "contact_group", "contact_id": "contact"},
    "/api/v1/contacts/{contact_id}": {"contact_id": "contact"},
    "/api/v1/contacts/{contact_id}/link": {"contact_id": "contact"},
    "/api/v1/loans/templates/{template_id}": {"template_id": "template"},
    "/api/v1/loans/{loan_id}/reminders": {"loan_id": "loan"},
    "/api/v1/loans/{loan_id}": {"loan_id": "loan"},
    "/api/v1/loans/{loan_id}/schedule": {"loan_id": "loan"},
    "/api/v1/loans/{loan_id}/payments": {"loan_id": "loan"},
    "/api/v1/loans/{loan_id}/activities": {"loan_id": "loan"},
    "/api/v1/loans/{loan_id}/disputes": {"loan_id": "loan"},
    "/api/v1/loans/{loan_id}/disputes/{dispute_id}/respond": {"loan_id": "loan", "dispute_id": "dispute"},
    "/api/v1/loans/{loan_id}/disputes/{dispute_id}/resolve": {"loan_id": "loan", "dispute_id": "dispute"},
    "/api/v1/groups/{group_id}": {"group_id": "group"},
    "/api/v1/groups/{group_id}/members": {"group_id": "group"},
    "/api/v1/groups/{group_id}/invitations/accept": {"group_id": "group"},
    "/api/v1/groups/{group_id}/invitations/decline": {"group_id": "group"},
    "/api/v1/groups/{group_id}/members/{member_id}": {"group_id": "group", "member_id": "me"},
    "/api/v1/groups/{group_id}/leave": {"group_id": "group"},
    "/api/v1/groups/{group_id}/members/{member_id}/write-off": {"group_id": "group", "member_id": "me"},
    "/api/v1/groups/{group_id}/expenses": {"group_id": "group"},
    "/api/v1/groups/{group_id}/expenses/{expense_id}": {"group_id": "group", "expense_id": "group_expense"},
    "/api/v1/groups/{group_id}/recurring": {"group_id": "group"},
    "/api/v1/groups/{group_id}/recurring/{recurring_id}": {"group_id": "group", "recurring_id": "group_recurring"},
    "/api/v1/groups/{group_id}/export": {"group_id": "group"},
    "/api/v1/groups/{group_id}/balances": {"group_id": "group"},
    "/api/v1/groups/{group_id}/settle": {"group_id": "group"},
    "/api/v1/groups/{group_id}/settlements": {"group_id": "group"},
    "/api/v1/groups/{group_id}/messages": {"group_id": "group"},
    "/api/v1/groups/{group_id}/activity": {"group_id": "group"},
    "/api/v1/tax/deductions/{deduction_id}": {"deduction_id": "deduction"},
    "/api/v1/tax/deductible-categories/{row_id}": {"row_id": "deductible"},
    "/api/v1/tax/deduction-suggestions/{row_id}/accept": {"row_id": "suggestion"},
    "/api/v1/tax/deduction-suggestions/{row_id}/dismiss": {"row_id": "suggestion"},
    "/api/v1/notifications/webhooks/{webhook_id}": {"webhook_id": "webhook"},
    "/api/v1/notifications/webhooks/{webhook_id}/rotate-secret": {"webhook_id": "webhook"},
    "/api/v1/notifications/webhooks/{webhook_id}/deliveries": {"webhook_id": "webhook"},
    "/api/v1/notifications/devices/{device_id}": {"device_id": "device"},
    "/api/v1/automation/rules/{rule_id}": {"rule_id": "rule"},
    "/api/v1/automation/rules/{rule_id}/enable": {"rule_id": "rule"},
    "/api/v1/automation/rules/{rule_id}/disable": {"rule_id": "rule"},
    "/api/v1/automation/rules/{rule_id}/test": {"rule_id": "rule"},
    "/api/v1/automation/rules/{rule_id}/apply": {"rule_id": "rule"},
    "/api/v1/automation/jobs/{job_id}": {"job_id": "job"},
    "/api/v1/automation/jobs/{job_id}/revert": {"job_id": "job"},
    "/api/v1/reports/{report_id}": {"report_id": "report"},
    "/api/v1/reports/{report_id}/download": {"report_id": "report"},
    "/api/v1/savings/goals/{goal_id}": {"goal_id": "goal"},
    "/api/v1/savings/goals/{goal_id}/contribute": {"goal_id": "goal"},
    "/api/v1/savings/goals/{goal_id}/withdraw": {"goal_id": "goal"},
    "/api/v1/savings/goals/{goal_id}/contributions": {"goal_id": "goal"},
    "/api/v1/savings/goals/{goal_id}/progress": {"goal_id": "goal"},
    "/api/v1/savings/rules/{rule_id}": {"rule_id": "saving_rule"},
    "/api/v1/accounts/{account_id}": {"account_id": "account"},
    "/api/v1/accounts/{account_id}/postings": {"account_id": "account"},
    "/api/v1/accounts/{account_id}/reconciliation": {"account_id": "account"},
    "/api/v1/accounts/{account_id}/cards": {"account_id": "account"},
    "/api/v1/accounts/cards/{card_id}": {"card_id": "card"},
    "/api/v1/accounts/cards/{card_id}/freeze": {"card_id": "card"},
    "/api/v1/accounts/cards/{card_id}/unfreeze": {"card_id": "card"},
    "/api/v1/accounts/cards/{card_id}/limits": {"card_id": "card"},
}
"""Every path-id route: which of the owner's objects fills each parameter (`me`: the owner's user id)."""

EXCLUDED: dict[str, str] = {
    "/api/v1/market/stocks/{symbol}": "public market data keyed by a ticker: nobody owns it",
    "/api/v1/market/crypto/{symbol}": "public market data keyed by a ticker: nobody owns it",
    "/api/v1/market/forex/{pair}": "public market data keyed by a currency pair: nobody owns it",
    "/api/v1/market/stocks/{symbol}/history": "public market data keyed by a ticker: nobody owns it",
    "/api/v1/market/crypto/{symbol}/history": "public market data keyed by a ticker: nobody owns it",
    "/api/v1/market/forex/{pair}/history": "public market data keyed by a currency pair: nobody owns it",
    "/api/v1/tax/regimes/{country}/{year}": "public tax tables keyed by country and year: nobody owns them",
    "/api/v1/tax/profiles/{year}": "keyed by a tax year, not an id: the caller's own profile of that year, never "
    "another's (tax's tests check a second user never sees the first's profile)",
    "/api/v1/notifications/templates/{category}/{channel}/{key}": "fleet-wide message templates, admin role only "
    "(403 without it; tests-e2e/test_notification_journeys.py)",
    "/api/v1/loans/reminders/{reminder_id}/snooze": "reminders are made only by loan's daily job (an internal "
    "route the gateway does not serve); loan's own tests check another user's reminder is a 404",
    "/api/v1/loans/reminders/{reminder_id}/acknowledge": "reminders are made only by loan's daily job (an internal "
    "route); loan's own tests check another user's reminder is a 404",
    "/api/v1/groups/{group_id}/settlements/{settlement_id}/confirm": "a settlement needs a second member to owe "
    "the owner; group's own tests and the viewer check below cover it",
    "/api/v1/groups/{group_id}/settlements/{settlement_id}/cancel": "a settlement needs a second member to owe "
    "the owner; group's own tests and the viewer check below cover it",
    "/api/v1/notifications/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": "a delivery exists only after "
    "an event reached the webhook's (public) URL; notification's own tests check replaying another's is a 404",
    "/api/v1/notifications/{notification_id}": "notifications are made only from events; notification's own "
    "tests check another user's is a 404",
    "/api/v1/notifications/{notification_id}/read": "notifications are made only from events; notification's own "
    "tests check another user's is a 404",
    "/api/v1/ai/insights/{insight_id}/read": "insights are made only by the ai service's analysis of events; its "
    "own tests check another user's is a 404",
    "/api/v1/auth/oauth/{provider}/authorize": "keyed by a configured identity provider's name: nobody owns it",
    "/api/v1/auth/oauth/{provider}/link": "keyed by a configured identity provider's name: links to the caller only",
    "/api/v1/auth/oauth/{provider}/callback": "keyed by a configured identity provider's name; the state is "
    "single use and bound to the browser (auth's test_oauth_oidc.py)",
    "/api/v1/auth/oauth/providers/{provider}": "keyed by a provider's name, always the caller's own link; auth's "
    "test_oauth_linking.py checks another user's call is a 404",
    "/api/v1/auth/passkeys/{passkey_id}": "a passkey is made only by a WebAuthn ceremony with an authenticator; "
    "auth's test_passkeys.py checks renaming or removing another user's is a 404",
    "/api/v1/accounts/cards/webhooks/{issuer}": "the card issuer's public authorisation webhook, keyed by an "
    "issuer's name and authenticated by its signature, not a user's token (accounts' test_cards_api.py: 401)",
    **{
        f"/api/v1/accounts/payments/{{payment_id}}{suffix}": "a P2P payment needs two registered people (payer "
        "and payee, who both see it); accounts' test_payments_api.py checks a third user's calls are 404"
        for suffix in ("", "/pay", "/accept", "/decline", "/cancel")
    },
    **{
        f"/api/v1/accounts/connections/{{connection_id}}{suffix}": "a bank connection is made by exchanging a "
        "provider's (Plaid, Belvo) token, which the fleet cannot reach; accounts' test_bank_connections.py checks "
        "another user's read, sync and unlink are 404"
        for suffix in ("", "/sync")
    },
    "/api/v1/accounts/connections/webhooks/{provider}": "a bank provider's public webhook, keyed by the provider's "
    "name and authenticated by its signature or secret, not a user's token (accounts' test_bank_connections.py: 401)",
}
"""Path-id routes deliberately left out, with the reason."""

BODIES: dict[tuple[str, str], Json] = {
    ("PATCH", "/api/v1/spaces/{space_id}"): {"name": "B was here"},
    ("POST", "/api/v1/spaces/{space_id}/invitations"): {"email": "b.friend@example.com", "role": "admin"},
    ("PATCH", "/api/v1/spaces/{space_id}/members/{member_id}"): {"role": "viewer"},
    ("POST", "/api/v1/spaces/{space_id}/transfer"): {"user_id": "@attacker"},
    ("PATCH", "/api/v1/expenses/recurring/{recurring_id}"): {"name": "B was here"},
    ("PATCH", "/api/v1/expenses/{expense_id}"): {"description": "B was here"},
    ("PATCH", "/api/v1/categories/{category_id}"): {"name": "B was here"},
    ("POST", "/api/v1/categories/{category_id}/merge"): {"into_id": "@category2"},
    ("PATCH", "/api/v1/budgets/{budget_id}"): {"name": "B was here"},
    ("PATCH", "/api/v1/habits/{habit_id}"): {"name": "B was here"},
    ("POST", "/api/v1/habits/{habit_id}/log"): {"quantity": 1},
    ("PATCH", "/api/v1/income/sources/{source_id}"): {"name": "B was here"},
    ("PATCH", "/api/v1/income/transactions/{transaction_id}"): {"description": "B was here"},
    ("PATCH", "/api/v1/portfolios/{portfolio_id}"): {"name": "B was here"},
    ("POST", "/api/v1/portfolios/{portfolio_id}/assets"): {"asset_type": "stock", "symbol": "NVDA"},
    ("PATCH", "/api/v1/portfolios/{portfolio_id}/assets/{asset_id}"): {"name": "B was here"},
    ("POST", "/api/v1/portfolios/{portfolio_id}/transactions"): {
        "asset_id": "@asset",
        "transaction_type": "buy",
        "date": DAY,
        "quantity": "1",
        "price": "1",
    },
    ("PUT", "/api/v1/portfolios/{portfolio_id}/transactions/{transaction_id}"): {
        "asset_id": "@asset",
        "transaction_type": "buy",
        "date": DAY,
        "quantity": "1",
        "price": "1",
    },
    ("PATCH", "/api/v1/contacts/groups/{group_id}"): {"name": "B was here"},
    ("PATCH", "/api/v1/contacts/{contact_id}"): {"name": "B was here"},
    ("PATCH", "/api/v1/loans/templates/{template_id}"): {"template_name": "B was here"},
    ("PATCH", "/api/v1/loans/{loan_id}"): {"reason": "B was here"},
    ("POST", "/api/v1/loans/{loan_id}/payments"): {"amount": "1.00", "payment_date": TODAY.isoformat()},
    ("POST", "/api/v1/loans/{loan_id}/disputes"): {"dispute_type": "amount", "description": "B was here"},
    ("POST", "/api/v1/loans/{loan_id}/disputes/{dispute_id}/respond"): {"message": "B was here"},
    ("POST", "/api/v1/loans/{loan_id}/disputes/{dispute_id}/resolve"): {"resolution": "B was here"},
    ("PATCH", "/api/v1/groups/{group_id}"): {"name": "B was here"},
    ("POST", "/api/v1/groups/{group_id}/members"): {"user_id": "@attacker"},
    ("PATCH", "/api/v1/groups/{group_id}/members/{member_id}"): {"display_name": "B was here"},
    ("POST", "/api/v1/groups/{group_id}/members/{member_id}/write-off"): {"user_id": "@me"},
    ("POST", "/api/v1/groups/{group_id}/expenses"): {"description": "B", "amount": "1.00", "expense_date": DAY},
    ("PATCH", "/api/v1/groups/{group_id}/expenses/{expense_id}"): {"description": "B was here"},
    ("POST", "/api/v1/groups/{group_id}/recurring"): {
        "description": "B",
        "amount": "1.00",
        "frequency": "monthly",
        "start_date": DAY,
    },
    ("POST", "/api/v1/groups/{group_id}/settle"): {"to_user_id": "@me", "amount": "1.00"},
    ("POST", "/api/v1/groups/{group_id}/messages"): {"content": "B was here"},
    ("PATCH", "/api/v1/tax/deductions/{deduction_id}"): {"description": "B was here"},
    ("PATCH", "/api/v1/notifications/webhooks/{webhook_id}"): {"description": "B was here"},
    ("PUT", "/api/v1/automation/rules/{rule_id}"): {"name": "B was here"},
    ("POST", "/api/v1/automation/rules/{rule_id}/test"): {},
    ("POST", "/api/v1/automation/rules/{rule_id}/apply"): {
        "from": (TODAY - timedelta(days=30)).isoformat(),
        "to": TODAY.isoformat(),
    },
    ("PATCH", "/api/v1/savings/goals/{goal_id}"): {"name": "B was here"},
    ("POST", "/api/v1/savings/goals/{goal_id}/contribute"): {"amount": "1.00"},
    ("POST", "/api/v1/savings/goals/{goal_id}/withdraw"): {"amount": "1.00"},
    ("PATCH", "/api/v1/savings/rules/{rule_id}"): {"name": "B was here"},
    ("PATCH", "/api/v1/accounts/{account_id}"): {"name": "B was here"},
    ("POST", "/api/v1/accounts/{account_id}/reconciliation"): {"balance": "1.00"},
    ("POST", "/api/v1/accounts/{account_id}/cards"): {"label": "B was here"},
    ("PATCH", "/api/v1/accounts/cards/{card_id}/limits"): {"limit_per_month": "10"},
}
"""A valid body for each write that needs one: the request must reach the ownership check, not fail validation."""

OWNER_GROUPS: tuple[tuple[str, ...], ...] = (
    ("auth", "user", "expense", "income", "tax"),
    ("investment", "loan", "group", "accounts"),
    ("ai", "notification", "automation", "report", "savings", "market-data"),
)
"""Services whose objects one owner/attacker pair handles (the per-user limit is 100 requests a minute)."""

_PREFIXES = sorted(((p, s.name) for s in SERVICES for p in s.paths), key=lambda item: -len(item[0]))


def service_of(path: str) -> str:
    return next(name for prefix, name in _PREFIXES if path.startswith(prefix))


def pair_of(path: str) -> int:
    service = service_of(path)
    return next(i for i, names in enumerate(OWNER_GROUPS) if service in names)


def test_owner_groups_cover_the_catalogue_once() -> None:
    names = [name for group in OWNER_GROUPS for name in group]
    assert sorted(names) == sorted(s.name for s in SERVICES)


@dataclass
class Pair:
    owner: Person
    attacker: Person
    ids: dict[str, str] = field(default_factory=dict)

    def fill(self, value: Json) -> Json:
        """`@key` → the id of that object (`@me`: the owner, `@attacker`: the attacker)."""
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:]
            return {"me": self.owner.user_id, "attacker": self.attacker.user_id}.get(name) or self.ids[name]
        if isinstance(value, str) and value.startswith("/"):
            return re.sub(r"@(\w+)", lambda m: str(self.fill("@" + m.group(1))), value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


@dataclass
class World:
    pairs: list[Pair]
    before: dict[str, Json]
    """Recipe key → the owner's answer to its witness GET before any attack."""
    recipes: dict[str, Recipe]

    def pair(self, path: str) -> Pair:
        return self.pairs[pair_of(path)]


def _dig(data: Json, where: str) -> str:
    for part in where.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return str(data)


async def _make(gateway: httpx.AsyncClient, pair: Pair, recipe: Recipe) -> None:
    path = pair.fill(recipe.path)
    headers = pair.owner.headers
    if recipe.method == "GET":

        async def listed() -> str | None:
            response = await gateway.get(path, headers=headers)
            try:
                return _dig(response.json()["data"], recipe.id_at)
            except (KeyError, IndexError, TypeError):
                return None

        pair.ids[recipe.key] = await wait_for(listed, timeout=30 if recipe.ready else 5, interval=0.5, message=path)
        return
    if recipe.files is not None:
        response = await gateway.post(path, headers=headers, files=recipe.files, data=pair.fill(recipe.form or {}))
    else:
        response = await gateway.request(recipe.method, path, headers=headers, json=pair.fill(recipe.body))
    assert response.status_code in (200, 201, 202), (recipe.key, response.status_code, response.text)
    pair.ids[recipe.key] = _dig(response.json()["data"], recipe.id_at)


async def _witness(gateway: httpx.AsyncClient, pair: Pair, recipe: Recipe) -> Json:
    response = await gateway.get(pair.fill(recipe.witness_path()), headers=pair.owner.headers)
    assert response.status_code == 200, (recipe.key, response.text)
    return response.json()["data"]


UNDER_WAY = {"pending", "queued", "processing", "running", "generating"}


async def _settled(gateway: httpx.AsyncClient, pair: Pair, recipe: Recipe) -> Json:
    """The witness once its work is done (an import finishing, a report being written)."""

    async def done() -> Json:
        data = await _witness(gateway, pair, recipe)
        return None if isinstance(data, dict) and data.get("status") in UNDER_WAY else data

    return await wait_for(done, timeout=30, interval=0.5, message=f"{recipe.key} finished")


@pytest.fixture(scope="module")
async def world(fleet: Fleet) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=fleet.gateway_url, timeout=30.0) as gateway:
        people = await asyncio.gather(*(sign_up(gateway, wait_profile=False) for _ in range(2 * len(OWNER_GROUPS))))
        pairs = [Pair(people[2 * i], people[2 * i + 1]) for i in range(len(OWNER_GROUPS))]

        failed: list[str] = []

        async def make_all(index: int) -> None:
            for recipe in RECIPES:
                if pair_of(recipe.path) == index:
                    try:
                        await _make(gateway, pairs[index], recipe)
                    except (AssertionError, KeyError, TimeoutError) as exc:  # report every recipe that failed
                        failed.append(f"{recipe.key}: {exc!r}"[:400])

        await asyncio.gather(*(make_all(i) for i in range(len(pairs))))
        assert not failed, "recipes failed:\n" + "\n".join(failed)
        recipes = {r.key: r for r in RECIPES}
        before: dict[str, Json] = {}
        for recipe in RECIPES:
            pair = pairs[pair_of(recipe.path)]
            before[recipe.key] = await _settled(gateway, pair, recipe)
        yield World(pairs, before, recipes)


@pytest.fixture(scope="module")
async def documented(fleet: Fleet) -> dict[str, dict[str, Json]]:
    """Every public path-id route of every running service, from its /openapi.json: path → method → operation."""
    async with httpx.AsyncClient(timeout=60.0) as client:
        answers = await asyncio.gather(*(client.get(f"{fleet.url(info.name)}/openapi.json") for info in SERVICES))
    routes: dict[str, dict[str, Json]] = {}
    for answer in answers:
        assert answer.status_code == 200, answer.text
        for path, operations in answer.json()["paths"].items():
            if path.startswith("/api/v1/") and "{" in path:
                routes[path] = {m.upper(): op for m, op in operations.items() if m.upper() in ("GET", *WRITES)}
    return routes


def test_every_path_id_route_is_covered(documented: dict[str, dict[str, Json]]) -> None:
    """A new route with a path id in any OpenAPI document fails here until it gets a recipe or a reason."""
    missing = sorted(set(documented) - set(ROUTES) - set(EXCLUDED))
    assert not missing, f"path-id routes without a recipe in ROUTES (or a reason in EXCLUDED): {missing}"
    stale = sorted((set(ROUTES) | set(EXCLUDED)) - set(documented))
    assert not stale, f"listed but no longer documented: {stale}"
    assert not set(ROUTES) & set(EXCLUDED)
    keys = {r.key for r in RECIPES} | {"me"}
    for path, params in ROUTES.items():
        assert set(params) == set(re.findall(r"{(\w+)}", path)), path
        assert set(params.values()) <= keys, path
        for method, operation in documented[path].items():
            if operation.get("requestBody", {}).get("required"):
                assert (method, path) in BODIES, f"no valid body for {method} {path}"


def _concrete(pair: Pair, template: str) -> str:
    params = ROUTES[template]
    return re.sub(r"{(\w+)}", lambda m: pair.fill("@" + params[m.group(1)]), template)


async def _limited(tasks: list[Awaitable[Any]], at_once: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(at_once)

    async def one(task: Awaitable[Any]) -> Any:
        async with gate:
            return await task

    return await asyncio.gather(*(one(t) for t in tasks))


async def test_another_user_gets_404_on_every_method_of_every_path_id_route_and_nothing_changes(
    gateway: httpx.AsyncClient, world: World, documented: dict[str, dict[str, Json]]
) -> None:
    calls: list[tuple[str, str, str, Pair]] = []
    for template in ROUTES:
        pair = world.pair(template)
        for method in documented[template]:
            calls.append((method, template, _concrete(pair, template), pair))

    async def attack(method: str, template: str, path: str, pair: Pair) -> str | None:
        body = BODIES.get((method, template))
        kwargs: dict[str, Any] = {"json": pair.fill(body)} if body is not None else {}
        response = await gateway.request(method, path, headers=pair.attacker.headers, **kwargs)
        try:
            envelope = response.json()
        except ValueError:
            envelope = {}
        if response.status_code == 404 and envelope.get("error", {}).get("code") == "NOT_FOUND":
            return None
        return f"{method} {template}: {response.status_code} {response.text[:200]}"

    answers = await _limited([attack(*call) for call in calls])
    wrong = [a for a in answers if a is not None]
    assert not wrong, "another user's object must be a 404:\n" + "\n".join(wrong)
    changed = []
    for key, recipe in world.recipes.items():
        now = await _witness(gateway, world.pair(recipe.path), recipe)
        if now != world.before[key]:
            changed.append(f"{key}: {str(world.before[key])[:300]} -> {str(now)[:300]}")
    assert not changed, "the owner's objects changed under another user's requests:\n" + "\n".join(changed)


GROUP_READS = (
    "",
    "/members",
    "/expenses",
    "/expenses/@group_expense",
    "/recurring",
    "/export",
    "/balances",
    "/settlements",
    "/messages",
    "/activity",
)
GROUP_WRITES: tuple[tuple[str, str, Json], ...] = (
    ("PATCH", "", {"name": "V was here"}),
    ("POST", "/members", {"user_id": "@attacker"}),
    ("PATCH", "/members/@me", {"display_name": "V was here"}),
    ("DELETE", "/members/@me", None),
    ("POST", "/members/@me/write-off", {"user_id": "@me"}),
    ("POST", "/expenses", {"description": "V", "amount": "1.00", "expense_date": DAY}),
    ("PATCH", "/expenses/@group_expense", {"description": "V was here"}),
    ("DELETE", "/expenses/@group_expense", None),
    ("POST", "/recurring", {"description": "V", "amount": "1.00", "frequency": "monthly", "start_date": DAY}),
    ("DELETE", "/recurring/@group_recurring", None),
    ("POST", "/settle", {"to_user_id": "@me", "amount": "1.00"}),
    ("POST", "/settlements/@settlement/confirm", None),
    ("POST", "/settlements/@settlement/cancel", None),
    ("POST", "/messages", {"content": "V was here"}),
)
"""Every write route of a group (the viewer's own `leave`, `invitations/accept|decline` are theirs to make)."""


async def test_a_group_viewer_reads_but_every_write_is_refused(gateway: httpx.AsyncClient) -> None:
    """Its own people and group (the module's pairs are near their request limit)."""
    owner, viewer, member = await asyncio.gather(*(sign_up(gateway, wait_profile=False) for _ in range(3)))
    pair = Pair(owner, viewer)
    group = await gateway.post("/api/v1/groups", json={"name": "Viewers", "currency": "USD"}, headers=owner.headers)
    assert group.status_code == 201, group.text
    pair.ids["group"] = group.json()["data"]["id"]
    base = "/api/v1/groups/@group"

    async def call(who: Person, method: str, path: str, body: Json = None) -> httpx.Response:
        kwargs: dict[str, Any] = {"json": pair.fill(body)} if body is not None else {}
        return await gateway.request(method, pair.fill(base + path), headers=who.headers, **kwargs)

    for who, role in ((viewer, "viewer"), (member, "member")):
        invited = await call(owner, "POST", "/members", {"user_id": who.user_id, "role": role})
        assert invited.status_code == 201, invited.text
        accepted = await call(who, "POST", "/invitations/accept")
        assert accepted.status_code == 200, accepted.text
    for key, path, body in (
        ("group_expense", "/expenses", {"description": "Dinner", "amount": "30.00", "expense_date": DAY}),
        (
            "group_recurring",
            "/recurring",
            {"description": "Rent", "amount": "30.00", "frequency": "monthly", "start_date": LATER},
        ),
    ):
        made = await call(owner, "POST", path, body)
        assert made.status_code == 201, made.text
        pair.ids[key] = made.json()["data"]["id"]
    settle = await call(member, "POST", "/settle", {"to_user_id": "@me", "amount": "1.00"})
    assert settle.status_code == 201, settle.text
    pair.ids["settlement"] = settle.json()["data"]["id"]

    async def seen() -> dict[str, str]:
        """What the owner reads on every group route (the export is CSV: compared as text)."""
        return {path: (await call(owner, "GET", path)).text for path in GROUP_READS}

    before = await seen()

    reads = await asyncio.gather(*(call(viewer, "GET", path) for path in GROUP_READS))
    assert [r.status_code for r in reads] == [200] * len(GROUP_READS), [r.text for r in reads]
    refused = await _limited([call(viewer, method, path, body) for method, path, body in GROUP_WRITES])
    wrong = [
        f"{method} {path}: {r.status_code} {r.text[:200]}"
        for (method, path, _), r in zip(GROUP_WRITES, refused, strict=True)
        if r.status_code != 403 or r.json()["error"]["code"] != "FORBIDDEN"
    ]
    assert not wrong, "a viewer's writes must answer 403:\n" + "\n".join(wrong)
    after = await seen()
    changed = [path for path in GROUP_READS if _data(after[path]) != _data(before[path])]
    assert not changed, f"a viewer's refused writes changed {changed}"


def _data(text: str) -> Json:
    """The envelope's data (its `meta` differs per request), or the text of a non-JSON answer."""
    try:
        return json.loads(text)["data"]
    except ValueError:
        return text
