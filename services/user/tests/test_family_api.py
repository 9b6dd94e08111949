"""Family invitations end to end: invite, see both sides, accept or decline, remove, and who may do what."""

import uuid

import pytest

pytestmark = pytest.mark.integration

FAMILY = "/api/v1/user/family"


def data(response) -> dict:
    assert response.is_success, response.text
    return response.json()["data"]


async def invite(env, who, email: str, relationship: str = "spouse"):
    return await env.svc.client.post(
        f"{FAMILY}/invite", json={"email": email, "relationship": relationship}, headers=who.headers
    )


async def answer(env, who, invitation: str, verb: str, **params: str):
    return await env.svc.client.post(f"{FAMILY}/invitations/{invitation}/{verb}", params=params, headers=who.headers)


async def test_invite_accept_and_both_sides_see_it(env, capsys) -> None:
    alice, bob = await env.signup(), await env.signup(email="Bob.Builder@Example.com")
    response = await invite(env, alice, "BOB.builder@example.com", "partner")
    assert response.status_code == 201, response.text
    sent = response.json()["data"]
    assert (sent["status"], sent["direction"], sent["invitee_email"]) == ("pending", "sent", "bob.builder@example.com")

    (event,) = [e["data"] for e in await env.outbox("user.family_invited")]
    assert event["user_id"] == str(alice.user_id)
    assert (event["invitation_id"], event["invitee_email"], event["relationship"]) == (
        sent["id"],
        "bob.builder@example.com",
        "partner",
    )
    assert len(event["token"]) >= 40

    assert [e["id"] for e in data(await env.svc.client.get(FAMILY, headers=alice.headers))["invitations_sent"]] == [
        sent["id"]
    ]
    bobs = data(await env.svc.client.get(FAMILY, headers=bob.headers))
    assert [(e["id"], e["direction"]) for e in bobs["invitations_received"]] == [(sent["id"], "received")]
    assert bobs["members"] == bobs["invitations_sent"] == []

    accepted = data(await answer(env, bob, sent["id"], "accept", token=event["token"]))
    assert (accepted["status"], accepted["invitee_user_id"]) == ("accepted", str(bob.user_id))
    assert accepted["responded_at"]
    for person, direction in ((alice, "sent"), (bob, "received")):
        family = data(await env.svc.client.get(FAMILY, headers=person.headers))
        assert [(m["id"], m["direction"], m["status"]) for m in family["members"]] == [
            (sent["id"], direction, "accepted")
        ]
        assert family["invitations_sent"] == family["invitations_received"] == []

    assert (await answer(env, bob, sent["id"], "accept")).status_code == 409, "answered once only"
    logged = "".join(capsys.readouterr())
    assert "bob.builder" not in logged.lower(), "email addresses never reach the logs"


async def test_decline(env) -> None:
    alice, bob = await env.signup(), await env.signup()
    sent = data(await invite(env, alice, bob.email, "sibling"))
    declined = data(await answer(env, bob, sent["id"], "decline"))
    assert declined["status"] == "declined"
    assert data(await env.svc.client.get(FAMILY, headers=alice.headers)) == {
        "members": [],
        "invitations_sent": [],
        "invitations_received": [],
    }
    assert (await answer(env, bob, sent["id"], "accept")).status_code == 409
    # Declined is final for that invitation, but Alice may ask again.
    assert (await invite(env, alice, bob.email, "sibling")).status_code == 201


async def test_only_the_invitee_can_answer_everyone_else_gets_404(env) -> None:
    alice, bob, mallory = await env.signup(), await env.signup(), await env.signup()
    sent = data(await invite(env, alice, bob.email))
    for who in (mallory, alice):
        for verb in ("accept", "decline"):
            response = await answer(env, who, sent["id"], verb)
            assert response.status_code == 404, (who, verb)
            assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await answer(env, bob, str(uuid.uuid4()), "accept")).status_code == 404
    assert (await answer(env, bob, sent["id"], "accept", token="forged")).status_code == 404
    assert (await env.svc.client.delete(f"{FAMILY}/{sent['id']}", headers=mallory.headers)).status_code == 404
    assert data(await env.svc.client.get(FAMILY, headers=mallory.headers))["invitations_received"] == []
    assert data(await answer(env, bob, sent["id"], "accept"))["status"] == "accepted"


async def test_self_and_duplicate_invitations_are_refused(env) -> None:
    alice, bob = await env.signup(), await env.signup()
    response = await invite(env, alice, alice.email.upper())
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "email"

    sent = data(await invite(env, alice, bob.email))
    assert (await invite(env, alice, bob.email, "child")).status_code == 409
    assert (await invite(env, bob, alice.email)).status_code == 409, "already linked the other way"
    data(await answer(env, bob, sent["id"], "accept"))
    duplicate = await invite(env, alice, bob.email)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "CONFLICT"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "relationship": "spouse"}, "email"),
        ({"email": "bob@example.com", "relationship": "neighbour"}, "relationship"),
        ({"relationship": "spouse"}, "email"),
        ({"email": "bob@example.com", "relationship": "spouse", "role": "admin"}, "role"),
    ],
)
async def test_bad_invitation_input_is_422_naming_the_field(env, body, field) -> None:
    alice = await env.signup()
    response = await env.svc.client.post(f"{FAMILY}/invite", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert {d["field"] for d in response.json()["error"]["details"]} == {field}
    assert await env.outbox("user.family_invited") == []


async def test_remove_withdraw_and_leave(env) -> None:
    alice, bob, carol = await env.signup(), await env.signup(), await env.signup()
    client = env.svc.client
    to_bob = data(await invite(env, alice, bob.email))
    to_carol = data(await invite(env, alice, carol.email))
    data(await answer(env, bob, to_bob["id"], "accept"))

    # The invitee of a pending invitation declines rather than removes.
    assert (await client.delete(f"{FAMILY}/{to_carol['id']}", headers=carol.headers)).status_code == 404
    # The inviter withdraws it.
    assert data(await client.delete(f"{FAMILY}/{to_carol['id']}", headers=alice.headers))["status"] == "removed"
    assert (await answer(env, carol, to_carol["id"], "accept")).status_code == 409

    # A member leaves; the link is gone for both, and removing again is 404.
    assert data(await client.delete(f"{FAMILY}/{to_bob['id']}", headers=bob.headers))["status"] == "removed"
    assert data(await client.get(FAMILY, headers=alice.headers))["members"] == []
    assert (await client.delete(f"{FAMILY}/{to_bob['id']}", headers=alice.headers)).status_code == 404
    assert (await invite(env, alice, bob.email)).status_code == 201, "a removed link can be made again"


async def test_inviting_needs_a_profile(env) -> None:
    headers = env.keys.auth(uuid.uuid4())
    response = await env.svc.client.post(
        f"{FAMILY}/invite", json={"email": "x@example.com", "relationship": "other"}, headers=headers
    )
    assert response.status_code == 404
    assert data(await env.svc.client.get(FAMILY, headers=headers))["members"] == []
