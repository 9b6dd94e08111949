"""Groups, members and invitations over HTTP: who sees what, who may write, and bad input."""

import uuid

import pytest

from pfms_group.models import FinanceGroup, GroupMember

pytestmark = pytest.mark.integration


async def test_create_read_list_and_update_a_group(env) -> None:
    owner = env.person()
    group_id = await env.group(owner, name="Lisbon", simplify_debts=True)
    got = await env.client.get(f"/api/v1/groups/{group_id}", headers=owner.headers)
    assert got.status_code == 200
    data = got.json()["data"]
    assert data | {"name": "Lisbon", "currency": "USD", "role": "admin", "group_type": "trip"} == data
    listed = await env.client.get("/api/v1/groups", params={"limit": 1}, headers=owner.headers)
    assert listed.json()["pagination"]["total"] == 1
    assert [g["id"] for g in listed.json()["data"]] == [group_id]
    patched = await env.client.patch(
        f"/api/v1/groups/{group_id}", json={"simplify_debts": False, "name": "Porto"}, headers=owner.headers
    )
    assert patched.status_code == 200 and patched.json()["data"]["simplify_debts"] is False
    members = await env.client.get(f"/api/v1/groups/{group_id}/members", headers=owner.headers)
    assert [(m["user_id"], m["role"], m["status"]) for m in members.json()["data"]] == [
        (str(owner.user_id), "admin", "active")
    ]


async def test_bad_input_names_the_field_and_changes_nothing(env) -> None:
    owner = env.person()
    bad = [
        ({"name": "x", "currency": "XXY"}, "currency"),
        ({"name": "x", "currency": "USD", "colour": "red"}, "colour"),
        ({"name": "x", "currency": "USD", "group_type": "holiday"}, "group_type"),
        ({"currency": "USD"}, "name"),
    ]
    for body, field in bad:
        response = await env.client.post("/api/v1/groups", json=body, headers=owner.headers)
        assert response.status_code == 422, body
        assert field in [d["field"] for d in response.json()["error"]["details"]], response.text
    malformed = await env.client.post(
        "/api/v1/groups", content=b'{"name": ', headers={**owner.headers, "content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "MALFORMED_JSON"
    assert await env.count(FinanceGroup) == 0
    assert (await env.client.get("/api/v1/groups")).status_code == 401


async def test_strangers_get_404_and_viewers_get_403_on_writes(env) -> None:
    owner, viewer, stranger = env.person(), env.person(), env.person()
    group_id = await env.group(owner)
    await env.join(group_id, owner, viewer, role="viewer")
    for path in ("", "/expenses", "/balances", "/members", "/settlements", "/messages", "/activity", "/export"):
        response = await env.client.get(f"/api/v1/groups/{group_id}{path}", headers=stranger.headers)
        assert response.status_code == 404, path
        assert (await env.client.get(f"/api/v1/groups/{group_id}{path}", headers=viewer.headers)).status_code == 200
    unknown = await env.client.get(f"/api/v1/groups/{uuid.uuid4()}", headers=owner.headers)
    assert unknown.status_code == 404
    writes = [
        ("/expenses", {"description": "x", "amount": "10", "expense_date": "2026-11-01"}),
        ("/settle", {"to_user_id": str(owner.user_id), "amount": "1"}),
        ("/messages", {"content": "hi"}),
        ("/members", {"user_id": str(uuid.uuid4())}),
    ]
    for path, body in writes:
        assert (
            await env.client.post(f"/api/v1/groups/{group_id}{path}", json=body, headers=viewer.headers)
        ).status_code == 403, path
        assert (
            await env.client.post(f"/api/v1/groups/{group_id}{path}", json=body, headers=stranger.headers)
        ).status_code == 404, path
    patched = await env.client.patch(f"/api/v1/groups/{group_id}", json={"name": "x"}, headers=viewer.headers)
    assert patched.status_code == 403


async def test_invitation_by_user_id_is_accepted_or_declined(env) -> None:
    owner, friend, other = env.person(), env.person(), env.person()
    group_id = await env.group(owner)
    invited = await env.client.post(
        f"/api/v1/groups/{group_id}/members", json={"user_id": str(friend.user_id)}, headers=owner.headers
    )
    assert invited.status_code == 201 and invited.json()["data"]["status"] == "invited"
    again = await env.client.post(
        f"/api/v1/groups/{group_id}/members", json={"user_id": str(friend.user_id)}, headers=owner.headers
    )
    assert again.status_code == 409
    both = await env.client.post(
        f"/api/v1/groups/{group_id}/members",
        json={"user_id": str(friend.user_id), "email": "a@example.com"},
        headers=owner.headers,
    )
    assert both.status_code == 422
    # an invitee does not see the group until they accept, but sees the invitation
    assert (await env.client.get(f"/api/v1/groups/{group_id}", headers=friend.headers)).status_code == 404
    mine = await env.client.get("/api/v1/groups/invitations", headers=friend.headers)
    assert [i["group_id"] for i in mine.json()["data"]] == [group_id]
    [note] = await env.outbox("notification.requested")
    assert note["user_id"] == str(friend.user_id) and note["category"] == "group"
    accepted = await env.client.post(f"/api/v1/groups/{group_id}/invitations/accept", headers=friend.headers)
    assert accepted.status_code == 200 and accepted.json()["data"]["status"] == "active"
    assert (await env.client.get(f"/api/v1/groups/{group_id}", headers=friend.headers)).status_code == 200
    # a plain member may invite members but not admins
    admin_invite = await env.client.post(
        f"/api/v1/groups/{group_id}/members",
        json={"user_id": str(other.user_id), "role": "admin"},
        headers=friend.headers,
    )
    assert admin_invite.status_code == 403
    await env.client.post(
        f"/api/v1/groups/{group_id}/members", json={"user_id": str(other.user_id)}, headers=friend.headers
    )
    declined = await env.client.post(f"/api/v1/groups/{group_id}/invitations/decline", headers=other.headers)
    assert declined.status_code == 204
    assert await env.count(GroupMember, GroupMember.user_id == other.user_id) == 0
    nothing = await env.client.post(f"/api/v1/groups/{group_id}/invitations/accept", headers=other.headers)
    assert nothing.status_code == 404


async def test_roles_change_only_by_admins_and_a_group_keeps_an_admin(env) -> None:
    owner, friend = env.person(), env.person()
    group_id = await env.group(owner, friend)
    members = f"/api/v1/groups/{group_id}/members"
    own_name = await env.client.patch(f"{members}/{friend.user_id}", json={"display_name": "F"}, headers=friend.headers)
    assert own_name.status_code == 200 and own_name.json()["data"]["display_name"] == "F"
    promote = await env.client.patch(f"{members}/{owner.user_id}", json={"role": "viewer"}, headers=friend.headers)
    assert promote.status_code == 403
    demote_self = await env.client.patch(f"{members}/{owner.user_id}", json={"role": "member"}, headers=owner.headers)
    assert demote_self.status_code == 409
    assert (await env.client.post(f"/api/v1/groups/{group_id}/leave", headers=owner.headers)).status_code == 409
    made_admin = await env.client.patch(f"{members}/{friend.user_id}", json={"role": "admin"}, headers=owner.headers)
    assert made_admin.json()["data"]["role"] == "admin"
    assert (await env.client.post(f"/api/v1/groups/{group_id}/leave", headers=owner.headers)).status_code == 204
    assert (await env.client.get(f"/api/v1/groups/{group_id}", headers=owner.headers)).status_code == 404
