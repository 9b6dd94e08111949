"""Contacts' phone, email and address are stored encrypted; lookups go through their blind indexes."""

import uuid

import pytest

from pfms_devservers import Stack
from pfms_loan.settings import Settings
from pfms_platform.testing.encryption import leaked, migrating, stored

pytestmark = pytest.mark.integration

PHONE, EMAIL, ADDRESS = "+880 1711 424242", "rahim@example.com", "12 Lake Road, Dhaka"


async def test_contact_details_never_reach_the_table_in_plaintext(make_env) -> None:
    env = await make_env()
    body = {"contact_type": "external", "name": "Rahim", "phone": PHONE, "email": EMAIL.upper(), "address": ADDRESS}
    created = await env.post("/api/v1/contacts", body)
    assert created.status_code == 201, created.text
    rows = await stored(env.svc.db, "contacts", "phone", "email", "address", "phone_index", "email_index")
    assert leaked(rows, PHONE, EMAIL, ADDRESS, "1711", "rahim", "Lake Road") == []
    assert all(cell.startswith("v1:dev:") for cell in rows[0][:3])
    shown = (await env.get(f"/api/v1/contacts/{created.json()['data']['id']}")).json()["data"]
    assert (shown["phone"], shown["email"], shown["address"]) == (PHONE, EMAIL, ADDRESS)

    for q, found in ((PHONE, 1), (EMAIL.upper(), 1), ("Rah", 1), ("1711", 0), ("example.com", 0)):
        assert (await env.get("/api/v1/contacts", q=q)).json()["pagination"]["total"] == found, q
    assert (await env.get("/api/v1/contacts", env.bob, q=PHONE)).json()["pagination"]["total"] == 0
    again = await env.post("/api/v1/contacts", {"contact_type": "external", "name": "R2", "phone": PHONE})
    assert again.status_code == 409
    assert (await env.post("/api/v1/contacts", {**body, "name": "Bob's"}, env.bob)).status_code == 201

    path = f"/api/v1/contacts/{created.json()['data']['id']}"
    patched = await env.client.patch(path, json={"phone": "+880 1711 000001", "email": None}, headers=env.auth())
    assert patched.status_code == 200 and patched.json()["data"]["email"] is None
    assert (await env.get("/api/v1/contacts", q="+880 1711 000001")).json()["pagination"]["total"] == 1
    assert (await env.get("/api/v1/contacts", q=EMAIL)).json()["pagination"]["total"] == 0


async def test_the_migration_encrypts_existing_contacts_and_its_downgrade_decrypts_them(stack: Stack) -> None:
    async with migrating(stack, "loan", "0003_counterparty") as db:
        user, contact = uuid.uuid4(), uuid.uuid4()
        await db.sql(
            "INSERT INTO contacts (id, user_id, contact_type, name, phone, email, address) "
            "VALUES ($1, $2, 'external', 'Rahim', $3, $4, $5)",
            contact,
            user,
            PHONE,
            EMAIL,
            ADDRESS,
        )
        db.upgrade()
        (row,) = await db.sql("SELECT phone, email, address, phone_index FROM contacts")
        assert leaked([tuple(row)], PHONE, EMAIL, ADDRESS) == []
        ring = Settings().field_keyring()
        assert ring.decrypt(row["phone"], "contacts.phone") == PHONE
        assert row["phone_index"] == ring.blind_index(PHONE, "contacts.phone")
        db.downgrade("0003_counterparty")
        (row,) = await db.sql("SELECT phone, email, address FROM contacts")
        assert tuple(row) == (PHONE, EMAIL, ADDRESS)
