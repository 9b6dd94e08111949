"""Every error leaves in the fleet's envelope; pagination says whether there is more."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, time
from decimal import Decimal

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError

from pfms_platform.envelope import MAX_PAGE, MAX_PAGE_SIZE, Envelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, NotFound, document_write_conflicts, install_error_handlers
from pfms_platform.middleware import CorrelationIdMiddleware
from pfms_platform.schemas import TimeOfDay


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

    @app.get("/db/{sqlstate}")
    async def database(sqlstate: str) -> None:
        raise DBAPIError("SELECT $1", None, DriverError(sqlstate))

    return app


class DriverError(Exception):
    """What SQLAlchemy's asyncpg adapter wraps: the error with PostgreSQL's sqlstate."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


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


def test_page_number_is_capped() -> None:
    """A page past MAX_PAGE is a 422, not an OFFSET that overflows PostgreSQL's bigint (a fuzzing 500)."""
    assert PageParams(page=MAX_PAGE, limit=MAX_PAGE_SIZE).offset < 2**63
    with pytest.raises(ValueError):
        PageParams(page=MAX_PAGE + 1)


def test_every_write_documents_a_conflict() -> None:
    """Writes list 409 (fuzzing found them answered undocumented); reads do not; a route's own words stay."""
    router = APIRouter()

    @router.get("/things")
    async def read() -> None: ...

    @router.post("/things")
    async def write() -> None: ...

    @router.delete("/things/{name}", responses={409: {"description": "Still in use"}})
    async def remove(name: str) -> None: ...

    app = FastAPI()
    app.include_router(router)
    document_write_conflicts(app)
    paths = app.openapi()["paths"]
    assert "409" not in paths["/things"]["get"]["responses"]
    assert "409" in paths["/things"]["post"]["responses"]
    assert paths["/things/{name}"]["delete"]["responses"]["409"]["description"] == "Still in use"
    assert app.openapi() == app.openapi()


async def test_text_the_database_cannot_store_is_a_422(client: httpx.AsyncClient) -> None:
    """A NUL reaching PostgreSQL (sqlstate 22021) is the caller's input; other database errors stay 500s."""
    assert (await client.get("/db/22021")).json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/db/22021")).status_code == 422
    assert (await client.get("/db/40001")).status_code == 500


def test_a_time_of_day_is_documented_as_it_is_written() -> None:
    """A local time has no offset, which `format: time` (RFC 3339) would demand: fuzzing flagged it."""

    class Slot(BaseModel):
        at: TimeOfDay

    pattern = Slot.model_json_schema()["properties"]["at"]["pattern"]
    for value in (time(7), time(21, 8, 30, 500), time(9, tzinfo=UTC)):
        written = Slot(at=value).model_dump(mode="json")["at"]
        assert re.fullmatch(pattern, written), written
