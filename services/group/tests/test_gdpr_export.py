"""The GDPR export of the group service: the person's groups and the expenses they take part in."""

import pytest

from pfms_platform.security import mint_service_token

pytestmark = pytest.mark.integration


async def _export(env, person) -> dict:
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    response = await env.client.get(
        "/internal/v1/export", params={"user_id": str(person.user_id)}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"]["tables"])


async def test_a_member_gets_the_group_and_its_shared_expenses_a_stranger_nothing(env) -> None:
    a, b, stranger = env.person(), env.person(), env.person()
    group_id = await env.group(a, b)
    dinner = await env.expense(group_id, a, amount="90.00")
    await env.group(stranger, name="Elsewhere")

    mine = await _export(env, b)
    assert [g["id"] for g in mine["finance_groups"]] == [group_id]
    assert [e["id"] for e in mine["group_expenses"]] == [dinner["id"]]
    assert mine["group_expenses"][0]["amount"] == "90.0000"  # money stays a decimal string
    assert {s["user_id"] for s in mine["expense_splits"]} == {str(b.user_id)}
    assert {m["group_id"] for m in mine["group_members"]} == {group_id}

    theirs = await _export(env, stranger)
    assert [g["name"] for g in theirs["finance_groups"]] == ["Elsewhere"]
    assert theirs["group_expenses"] == [] and theirs["expense_splits"] == []
