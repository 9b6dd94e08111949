"""Issue 6, group side, through the gateway: two people share a trip, add expenses of every split
type, settle up (recorded by the payer, confirmed by the receiver) and end at zero; the settlement
is announced on the bus; then an expense is edited and another deleted, and settling the new state
brings everyone back to zero; someone outside the group gets 404 and a viewer gets 403 on writes."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from journeys import BusTap, Person, settle, sign_up, verify_email

from pfms_local.fleet import Fleet

pytestmark = pytest.mark.e2e


async def _post(gateway: httpx.AsyncClient, path: str, who: Person, body: dict[str, Any] | None = None) -> Any:
    response = await gateway.post(path, json=body, headers=who.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


async def test_two_people_share_a_trip_and_settle_to_zero(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    ana, ben, vic, eve = [await sign_up(gateway) for _ in range(4)]
    await verify_email(gateway, fleet, ben)  # only a verified address resolves to its account
    group = await _post(gateway, "/api/v1/groups", ana, {"name": "Lisbon", "group_type": "trip", "currency": "EUR"})
    base = f"/api/v1/groups/{group['id']}"
    # ben is invited by email (resolved by the user service), vic by id as a viewer
    await _post(gateway, f"{base}/members", ana, {"email": ben.email})
    await _post(gateway, f"{base}/members", ana, {"user_id": vic.user_id, "role": "viewer"})
    await _post(gateway, f"{base}/invitations/accept", ben)
    await _post(gateway, f"{base}/invitations/accept", vic)

    a, b = ana.user_id, ben.user_id
    expenses: list[tuple[Person, dict[str, Any]]] = [
        (ana, {"amount": "120.00", "split_type": "equal", "participants": [{"user_id": a}, {"user_id": b}]}),
        (
            ben,
            {
                "amount": "45.50",
                "split_type": "unequal",
                "participants": [{"user_id": a, "amount": "20.50"}, {"user_id": b, "amount": "25.00"}],
            },
        ),
        (
            ana,
            {
                "amount": "80.00",
                "split_type": "percentage",
                "participants": [{"user_id": a, "percentage": "25"}, {"user_id": b, "percentage": "75"}],
            },
        ),
        (
            ben,
            {
                "amount": "33.00",
                "split_type": "weight",
                "participants": [{"user_id": a, "weight": "2"}, {"user_id": b, "weight": "1"}],
            },
        ),
        (
            ana,
            {
                "amount": "50.00",
                "split_type": "custom",
                "participants": [{"user_id": a, "amount": "10.00"}, {"user_id": b}],
                "payers": [{"user_id": a, "amount": "30.00"}, {"user_id": b, "amount": "20.00"}],
            },
        ),
    ]
    made_ids: list[str] = []
    for who, body in expenses:
        made = await _post(
            gateway, f"{base}/expenses", who, {"description": "Trip", "expense_date": "2026-11-20", **body}
        )
        assert sum(Decimal(s["amount"]) for s in made["shares"]) == Decimal(body["amount"])
        made_ids.append(made["id"])

    balances = (await gateway.get(f"{base}/balances", headers=ana.headers)).json()["data"]
    [debt] = balances["debts"]
    # ana: paid 120+80+30 = 230, share 60+20.50+20+22+10 = 132.50 → +97.50
    assert debt == {"from_user_id": b, "to_user_id": a, "amount": "97.50"}

    tap = await BusTap.open(fleet, "financial.events", "group.settlement.completed")
    try:
        settlement = await _post(gateway, f"{base}/settle", ben, {"to_user_id": a, "amount": debt["amount"]})
        still = (await gateway.get(f"{base}/balances", headers=ben.headers)).json()["data"]
        assert still["debts"] == [debt], "pending until the receiver confirms"
        refused = await gateway.post(f"{base}/settlements/{settlement['id']}/confirm", headers=ben.headers)
        assert refused.status_code == 403
        await _post(gateway, f"{base}/settlements/{settlement['id']}/confirm", ana)
        event = await tap.wait("group.settlement.completed", settlement_id=settlement["id"])
        assert event["data"]["from_user_id"] == b and Decimal(event["data"]["amount"]) == Decimal("97.50")
        await settle()
        assert [e["data"]["settlement_id"] for e in await tap.drain()] == [settlement["id"]], "announced once"
    finally:
        await tap.close()
    settled = (await gateway.get(f"{base}/balances", headers=vic.headers)).json()["data"]
    assert {m["net"] for m in settled["members"]} == {"0.00"} and settled["debts"] == []

    # after settling, ben's weighted 33.00 becomes 63.00 (ana 2 : ben 1) and ana deletes the 120.00 dinner
    weighted, dinner = f"{base}/expenses/{made_ids[3]}", f"{base}/expenses/{made_ids[0]}"
    assert (await gateway.patch(weighted, json={"amount": "63.00"}, headers=vic.headers)).status_code == 403
    assert (await gateway.delete(dinner, headers=eve.headers)).status_code == 404
    edited = await gateway.patch(weighted, json={"amount": "63.00"}, headers=ben.headers)
    assert edited.status_code == 200, edited.text
    tap = await BusTap.open(fleet, "financial.events", "group.expense.deleted")
    try:
        assert (await gateway.delete(dinner, headers=ana.headers)).status_code == 204
        gone = await tap.wait("group.expense.deleted", expense_id=made_ids[0])
        assert gone["data"]["user_id"] == a
    finally:
        await tap.close()
    listed = (await gateway.get(f"{base}/expenses", headers=ben.headers)).json()["data"]
    assert made_ids[0] not in {e["id"] for e in listed}
    feed = (await gateway.get(f"{base}/activity", headers=ben.headers)).json()["data"]
    assert any(e["action"] == "expense.deleted" and e["subject_id"] == made_ids[0] for e in feed)
    # ana owes ben her 20.00 more of the 63.00 (42 instead of 22) and the 60.00 of his dinner share she had paid
    [debt] = (await gateway.get(f"{base}/balances", headers=ana.headers)).json()["data"]["debts"]
    assert debt == {"from_user_id": a, "to_user_id": b, "amount": "80.00"}
    again = await _post(gateway, f"{base}/settle", ana, {"to_user_id": b, "amount": debt["amount"]})
    await _post(gateway, f"{base}/settlements/{again['id']}/confirm", ben)
    zero = (await gateway.get(f"{base}/balances", headers=vic.headers)).json()["data"]
    assert {m["net"] for m in zero["members"]} == {"0.00"} and zero["debts"] == []

    for path in ("", "/expenses", "/balances"):
        assert (await gateway.get(f"{base}{path}", headers=eve.headers)).status_code == 404, path
    for path, body in (
        ("/expenses", {"description": "x", "amount": "1.00", "expense_date": "2026-11-20"}),
        ("/settle", {"to_user_id": a, "amount": "1.00"}),
        ("/messages", {"content": "hello"}),
    ):
        assert (await gateway.post(f"{base}{path}", json=body, headers=vic.headers)).status_code == 403, path
