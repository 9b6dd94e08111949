"""With market-data and the user service reachable: FX conversion at the expense date, and
invitations by email."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pfms_contracts.identity import UserCreated
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import publish_event

pytestmark = pytest.mark.integration


async def test_expense_in_another_currency_is_converted_at_the_rate_of_its_date(fleet) -> None:
    env, market, _ = fleet
    a, b = env.person(), env.person()
    group_id = await env.group(a, b)  # USD
    expense = await env.expense(group_id, a, amount="100.00", currency="EUR", expense_date="2024-03-15")
    quote = await market.client.get(
        "/internal/v1/market/fx",
        params={"base": "EUR", "quote": "USD", "date": "2024-03-15"},
        headers={"Authorization": "Bearer " + _service_token(market)},
    )
    rate = Decimal(str(quote.json()["data"]["rate"])).quantize(Decimal("1e-10"))
    assert Decimal(expense["fx_rate"]) == rate and expense["fx_source"]
    assert Decimal(expense["group_amount"]) == (Decimal(100) * rate).quantize(Decimal("0.01"))
    assert expense["currency"] == "EUR" and expense["amount"] == "100.00"
    assert sum(Decimal(s["amount"]) for s in expense["shares"]) == Decimal(expense["group_amount"])
    [event] = await env.outbox("group.expense.created")
    assert event["currency"] == "EUR" and event["group_currency"] == "USD"
    assert Decimal(event["fx_rate"]) == rate
    # an edit of the date converts again at that date's rate, as create does
    moved = await env.client.patch(
        f"/api/v1/groups/{group_id}/expenses/{expense['id']}", json={"expense_date": "2024-03-20"}, headers=a.headers
    )
    quote = await market.client.get(
        "/internal/v1/market/fx",
        params={"base": "EUR", "quote": "USD", "date": "2024-03-20"},
        headers={"Authorization": "Bearer " + _service_token(market)},
    )
    later = Decimal(str(quote.json()["data"]["rate"])).quantize(Decimal("1e-10"))
    data = moved.json()["data"]
    assert Decimal(data["fx_rate"]) == later != rate
    assert Decimal(data["group_amount"]) == (Decimal(100) * later).quantize(Decimal("0.01"))
    assert sum(Decimal(s["amount"]) for s in data["shares"]) == Decimal(data["group_amount"])
    [updated] = await env.outbox("group.expense.updated")
    assert Decimal(updated["fx_rate"]) == later


async def test_invitation_by_email_resolves_through_the_user_service(fleet) -> None:
    env, _, users = fleet
    owner, friend = env.person(), env.person()
    email = f"friend-{friend.user_id.hex[:8]}@example.com"
    await publish_event(
        users.settings.amqp_url,
        UserCreated(user_id=friend.user_id, email=email, email_verified=True, created_at=datetime.now(UTC)),
        source="auth",
    )

    async def has_profile() -> bool:
        answer = await users.client.get("/api/v1/user/profile", headers=friend.headers)
        return answer.status_code == 200

    await env.until(has_profile)
    group_id = await env.group(owner)
    invited = await env.client.post(
        f"/api/v1/groups/{group_id}/members", json={"email": email.upper()}, headers=owner.headers
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["data"]["user_id"] == str(friend.user_id)
    nobody = await env.client.post(
        f"/api/v1/groups/{group_id}/members", json={"email": "nobody@example.com"}, headers=owner.headers
    )
    assert nobody.status_code == 422 and nobody.json()["error"]["details"][0]["field"] == "email"
    malformed = await env.client.post(
        f"/api/v1/groups/{group_id}/members", json={"email": "not-an-email"}, headers=owner.headers
    )
    assert malformed.status_code == 422


def _service_token(running) -> str:
    return mint_service_token(running.settings.service_token_secret, "group")
