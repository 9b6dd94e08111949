"""Every error leaves in the fleet's envelope; pagination says whether there is more."""

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from pfms_platform.envelope import Envelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, NotFound, install_error_handlers
from pfms_platform.middleware import CorrelationIdMiddleware


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    amount: Decimal


def build() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(CorrelationIdMiddleware)

    @app.post("/items", response_model=Envelope[Item])
    async def create(item: Item) -> dict[str, object]:
        if item.name == "dup":
            raise Conflict("Item exists", field="name")
        return ok(item)

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("No such thing")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_money_leaves_as_a_decimal_string(client: httpx.AsyncClient) -> None:
    r = await client.post("/items", json={"name": "a", "amount": "10.10"})
    assert r.status_code == 200
    assert r.json()["data"] == {"name": "a", "amount": "10.10"}
    assert r.json()["success"] is True


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/items", json={"name": "a", "amount": "ten"})
    assert r.status_code == 422
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["field"] == "amount"


async def test_unknown_field_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/items", json={"name": "a", "amount": "1", "admin": True})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "admin"


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/items", content=b'{"name": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "MALFORMED_JSON"


async def test_domain_errors_and_404s_share_the_shape(client: httpx.AsyncClient) -> None:
    conflict = await client.post("/items", json={"name": "dup", "amount": "1"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["details"] == [{"field": "name", "message": "Item exists"}]
    for path in ("/missing", "/nowhere"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"


async def test_500_hides_the_traceback_and_keeps_the_correlation_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom", headers={"X-Correlation-ID": "abc-123"})
    assert r.status_code == 500
    assert "secret" not in r.text
    assert r.json()["meta"]["request_id"] == "abc-123"
    assert r.headers["x-correlation-id"] == "abc-123"


def test_pagination_reports_has_next() -> None:
    params = PageParams(page=2, limit=10)
    body = paged(list(range(10)), params, total=25)
    assert body["pagination"] == {"page": 2, "limit": 10, "total": 25, "pages": 3, "has_next": True}
    last = paged(list(range(5)), PageParams(page=3, limit=10), total=25)
    assert last["pagination"]["has_next"] is False


def test_page_size_is_capped() -> None:
    with pytest.raises(ValueError):
        PageParams(limit=101)
