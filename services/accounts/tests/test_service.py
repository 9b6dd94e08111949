"""The accounts service runs against real PostgreSQL, RabbitMQ and Redis and reports on them."""

import pytest

pytestmark = pytest.mark.integration


async def test_health_ready_metrics_and_openapi(make_service) -> None:
    svc = await make_service("accounts")
    assert (await svc.client.get("/health")).json()["status"] == "ok"
    ready = await svc.client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"].values()) == {"ok"}
    assert "http_requests_total" in (await svc.client.get("/metrics")).text
    assert (await svc.client.get("/openapi.json")).json()["info"]["title"] == "PFMS accounts service"


async def test_unknown_route_answers_in_the_error_envelope(make_service) -> None:
    svc = await make_service("accounts")
    response = await svc.client.get("/api/v1/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["request_id"]
