"""Requests are counted by route template, so ids in paths do not explode the label set."""

import httpx
from fastapi import FastAPI

from pfms_platform.metrics import MetricsMiddleware, metrics_endpoint


async def test_requests_are_labelled_by_route_template() -> None:
    app = FastAPI()
    app.add_middleware(MetricsMiddleware, service="metrics-test")

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.add_route("/metrics", metrics_endpoint)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for item_id in (1, 2, 3):
            await client.get(f"/items/{item_id}")
        await client.get("/nowhere")
        lines = (await client.get("/metrics")).text.splitlines()
    ours = [line for line in lines if line.startswith("http_requests_total{") and 'service="metrics-test"' in line]
    assert 'http_requests_total{method="GET",route="/items/{item_id}",service="metrics-test",status="200"} 3.0' in ours
    assert any('route="unmatched"' in line and 'status="404"' in line for line in ours)
