"""Settlements change balances only once the receiver confirms; leaving needs a zero balance."""

import pytest

from pfms_group.models import Settlement

pytestmark = pytest.mark.integration


async def test_record_confirm_and_cancel(env) -> None:
    a, b = sorted((env.person(), env.person()), key=lambda p: p.user_id)
    group_id = await env.group(a, b)
    await env.expense(group_id, a, amount="50.00")  # b owes a 25
    base = f"/api/v1/groups/{group_id}"
    recorded = await env.client.post(
        f"{base}/settle", json={"to_user_id": str(a.user_id), "amount": "25.00"}, headers=b.headers
    )
    assert recorded.status_code == 201, recorded.text
    settlement = recorded.json()["data"]
    assert settlement["status"] == "pending" and settlement["from_user_id"] == str(b.user_id)
    assert (await env.nets(group_id, a))[b.user_id] == "-25.00", "a pending payment does not count"
    # only the receiver confirms
    payer_confirms = await env.client.post(f"{base}/settlements/{settlement['id']}/confirm", headers=b.headers)
    assert payer_confirms.status_code == 403
    confirmed = await env.client.post(f"{base}/settlements/{settlement['id']}/confirm", headers=a.headers)
    assert confirmed.status_code == 200 and confirmed.json()["data"]["status"] == "completed"
    data = await env.balances(group_id, a)
    assert {m["net"] for m in data["members"]} == {"0.00"} and data["debts"] == []
    [event] = await env.outbox("group.settlement.completed")
    assert event | {"from_user_id": str(b.user_id), "to_user_id": str(a.user_id), "amount": "25.0000"} == event
    notes = [n for n in await env.outbox("notification.requested") if n["reference_type"] == "group_settlement"]
    assert [n["user_id"] for n in notes] == [str(a.user_id), str(b.user_id)]
    again = await env.client.post(f"{base}/settlements/{settlement['id']}/confirm", headers=a.headers)
    assert again.status_code == 409
    # a second one is cancelled and never counts
    second = await env.client.post(
        f"{base}/settle", json={"to_user_id": str(a.user_id), "amount": "5.00"}, headers=b.headers
    )
    cancelled = await env.client.post(f"{base}/settlements/{second.json()['data']['id']}/cancel", headers=b.headers)
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert (await env.nets(group_id, a))[a.user_id] == "0.00"
    listed = await env.client.get(f"{base}/settlements", params={"status": "completed"}, headers=a.headers)
    assert [s["id"] for s in listed.json()["data"]] == [settlement["id"]]


async def test_bad_settlements_are_refused(env) -> None:
    a, b = env.person(), env.person()
    outsider = env.person()
    group_id = await env.group(a, b)
    url = f"/api/v1/groups/{group_id}/settle"
    cases = [
        ({"to_user_id": str(a.user_id), "amount": "5"}, a, "to_user_id", 422),
        ({"to_user_id": str(outsider.user_id), "amount": "5"}, a, "to_user_id", 422),
        ({"to_user_id": str(b.user_id), "amount": "5", "currency": "EUR"}, a, "currency", 422),
        ({"to_user_id": str(b.user_id), "amount": "0"}, a, "amount", 422),
        ({"to_user_id": str(b.user_id), "amount": "1.005"}, a, "amount", 422),
        ({"to_user_id": str(a.user_id), "amount": "5", "from_user_id": str(a.user_id)}, b, None, 403),
    ]
    for body, who, field, code in cases:
        response = await env.client.post(url, json=body, headers=who.headers)
        assert response.status_code == code, (body, response.text)
        if field:
            assert field in [d["field"] for d in response.json()["error"]["details"]], response.text
    assert await env.count(Settlement) == 0


async def test_leaving_needs_a_zero_balance_unless_written_off(env) -> None:
    a, b, c = env.person(), env.person(), env.person()
    group_id = await env.group(a, b, c)
    await env.expense(group_id, a, amount="90.00")  # b and c owe a 30 each
    assert (await env.client.post(f"/api/v1/groups/{group_id}/leave", headers=b.headers)).status_code == 409
    removed = await env.client.delete(f"/api/v1/groups/{group_id}/members/{c.user_id}", headers=a.headers)
    assert removed.status_code == 409
    not_admin = await env.client.post(
        f"/api/v1/groups/{group_id}/members/{b.user_id}/write-off", json={"user_id": str(b.user_id)}, headers=c.headers
    )
    assert not_admin.status_code == 403
    written = await env.client.post(
        f"/api/v1/groups/{group_id}/members/{b.user_id}/write-off", json={"user_id": str(b.user_id)}, headers=a.headers
    )
    assert written.status_code == 200, written.text
    nets = await env.nets(group_id, a)
    assert nets[b.user_id] == "0.00"
    assert nets[a.user_id] == "45.00" and nets[c.user_id] == "-45.00", "a and c absorb b's 30 equally"
    assert (await env.client.post(f"/api/v1/groups/{group_id}/leave", headers=b.headers)).status_code == 204
    assert (await env.client.get(f"/api/v1/groups/{group_id}", headers=b.headers)).status_code == 404
    assert [e["split_type"] for e in await env.outbox("group.expense.created")] == ["equal"], "no event for a write-off"
    [off] = await env.outbox("group.balance.written_off")
    assert off["user_id"] == str(a.user_id) and off["member_id"] == str(b.user_id)
    assert (off["amount"], off["currency"], off["direction"]) == ("30.00", "USD", "debt")
    assert sorted((x["member_id"], x["amount"]) for x in off["absorbed_by"]) == sorted(
        [(str(a.user_id), "15.00"), (str(c.user_id), "15.00")]
    )
    told = [n for n in await env.outbox("notification.requested") if n["reference_type"] == "group_write_off"]
    assert [n["user_id"] for n in told] == [str(b.user_id)] and "-30.00" in told[0]["message"]
    # a creditor written off forgoes what they are owed
    await env.client.post(
        f"/api/v1/groups/{group_id}/members/{a.user_id}/write-off", json={"user_id": str(a.user_id)}, headers=a.headers
    )
    assert set((await env.nets(group_id, a)).values()) == {"0.00"}
    credit = (await env.outbox("group.balance.written_off"))[1]
    assert (credit["member_id"], credit["amount"], credit["direction"]) == (str(a.user_id), "45.00", "credit")
    assert credit["absorbed_by"] == [{"member_id": str(c.user_id), "amount": "45.00"}]
    assert (
        await env.client.delete(f"/api/v1/groups/{group_id}/members/{c.user_id}", headers=a.headers)
    ).status_code == 204


async def test_chat_and_activity_feed(env) -> None:
    a, b = env.person(), env.person()
    group_id = await env.group(a, b)
    base = f"/api/v1/groups/{group_id}"
    posted = await env.client.post(f"{base}/messages", json={"content": "Who booked the hotel?"}, headers=b.headers)
    assert posted.status_code == 201
    messages = await env.client.get(f"{base}/messages", headers=a.headers)
    assert [m["content"] for m in messages.json()["data"]] == ["Who booked the hotel?"]
    empty = await env.client.post(f"{base}/messages", json={"content": ""}, headers=b.headers)
    assert empty.status_code == 422
    await env.client.patch(base, json={"chat_enabled": False}, headers=a.headers)
    assert (await env.client.post(f"{base}/messages", json={"content": "x"}, headers=b.headers)).status_code == 409
    feed = await env.client.get(f"{base}/activity", headers=b.headers)
    actions = [e["action"] for e in feed.json()["data"]]
    assert actions[0] == "group.updated" and actions[-1] == "group.created"
    assert "message.posted" in actions and "member.joined" in actions
