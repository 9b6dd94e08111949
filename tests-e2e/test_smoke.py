"""The fleet comes up behind the gateway, and the gateway enforces the edge policy of kong.yml."""

import uuid

import httpx
import pytest

from pfms_local.fleet import Fleet, wait_for
from pfms_platform.catalogue import SERVICES

pytestmark = pytest.mark.e2e


async def test_the_gateway_answers(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/")
    assert response.status_code == 404


async def test_every_service_is_ready_with_every_check_ok(fleet: Fleet) -> None:
    report = await fleet.ready_report()
    assert set(report) == {s.name for s in SERVICES}
    for name, body in report.items():
        assert body["status_code"] == 200, (name, body)
        assert body["checks"] and set(body["checks"].values()) == {"ok"}, (name, body)


@pytest.mark.parametrize("path", [s.paths[0] if s.name != "auth" else "/api/v1/auth/sessions" for s in SERVICES])
async def test_a_protected_route_without_a_token_is_refused_at_the_gateway(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.get(path)
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("path", ["/internal/x", "/internal/users/00000000-0000-0000-0000-000000000000", "/health"])
async def test_internal_and_operational_paths_are_not_routed(gateway: httpx.AsyncClient, path: str) -> None:
    response = await gateway.get(path)
    assert response.status_code == 404, response.text


async def test_a_killed_service_is_down_until_restarted(fleet: Fleet) -> None:
    """The harness's fault helpers: kill -9 keeps the service down; restart brings it back ready."""
    fleet.kill("savings")
    await wait_for(lambda: fleet.pid("savings") is None, timeout=10, message="savings down")
    assert not await fleet.ready("savings")
    await fleet.restart("savings")
    assert await fleet.ready("savings")


async def test_a_token_from_auth_opens_protected_routes_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    """The wiring journeys rely on: auth's keys reach the gateway and the services; user.created reaches user."""
    email = f"smoke-{uuid.uuid4().hex[:10]}@example.com"
    credentials = {"email": email, "password": "Smoke-test-passphrase-42"}
    assert (await gateway.post("/api/v1/auth/register", json=credentials)).status_code == 202
    login = await gateway.post("/api/v1/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    sessions = await gateway.get("/api/v1/auth/sessions", headers=headers)
    assert sessions.status_code == 200, sessions.text

    async def profile() -> httpx.Response | None:
        response = await gateway.get("/api/v1/user/profile", headers=headers)
        return response if response.status_code == 200 else None

    found = await wait_for(profile, timeout=20, message="the profile made from user.created")
    assert found.json()["data"]["email"] == email
