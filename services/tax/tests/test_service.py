"""The tax service runs against real PostgreSQL, RabbitMQ and Redis and reports on them."""

import pytest

from pfms_platform.testing.schema import schema_drift

pytestmark = pytest.mark.integration


async def test_health_ready_metrics_and_openapi(env) -> None:
    assert (await env.client.get("/health")).json()["status"] == "ok"
    ready = await env.client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert "http_requests_total" in (await env.client.get("/metrics")).text
    assert (await env.client.get("/openapi.json")).json()["info"]["title"] == "PFMS tax service"


async def test_migrations_match_the_models(env) -> None:
    assert await schema_drift(env.svc.db, "pfms_tax") == []


async def test_routes_need_a_token(env) -> None:
    response = await env.client.get("/api/v1/tax/calculate", params={"year": 2024})
    assert response.status_code == 401
    params = {"user_id": str(env.person().user_id), "year": 2024}
    internal = await env.client.get("/internal/v1/tax/calculation", params=params)
    assert internal.status_code == 401


async def test_unknown_route_answers_in_the_error_envelope(env) -> None:
    response = await env.client.get("/api/v1/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "NOT_FOUND" and body["meta"]["request_id"]
