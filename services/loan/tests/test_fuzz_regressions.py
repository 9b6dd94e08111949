"""What API fuzzing (tests-e2e/test_fuzz.py) found in the loan service, pinned against a real server."""

import pytest

from pfms_loan.models import ContactGroup

from .conftest import Harness

pytestmark = pytest.mark.integration

GROUPS = "/api/v1/contacts/groups"


async def test_a_nul_in_text_is_a_422_and_changes_nothing(env: Harness) -> None:
    """PostgreSQL cannot store U+0000; the name used to reach it and answer 500."""
    group = (await env.post(GROUPS, {"name": "Family"})).json()["data"]
    renamed = await env.client.patch(f"{GROUPS}/{group['id']}", json={"name": "Fa\x00mily"}, headers=env.auth())
    assert renamed.status_code == 422, renamed.text
    assert renamed.json()["error"]["code"] == "VALIDATION_ERROR"
    created = await env.post(GROUPS, {"name": "\x00"})
    assert created.status_code == 422, created.text
    assert await env.count(ContactGroup) == 1
    kept = await env.client.get(f"{GROUPS}/{group['id']}", headers=env.auth())
    assert kept.json()["data"]["name"] == "Family"


async def test_every_write_documents_its_conflict(env: Harness) -> None:
    """A taken name answers 409; the OpenAPI of these writes did not list it."""
    paths = env.svc.app.openapi()["paths"]
    for method, path in [("post", GROUPS), ("patch", GROUPS + "/{group_id}"), ("post", "/api/v1/loans/templates")]:
        assert "409" in paths[path][method]["responses"], (method, path)
