"""The worker against real upstreams and real object storage: two instances, a resumed job, retries
and failures (`report.failed`), the purge on `user.deleted`, the internal route, portfolio and tax."""

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pfms_contracts.identity import UserDeleted
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import publish_event, served, until
from pfms_report.domain import ReportFormat, ReportType
from pfms_report.models import ObjectPurge, Report
from pfms_report.worker import Job

from .conftest import NOWHERE, REPORT_SETTINGS, Env

pytestmark = pytest.mark.integration

MONTHLY = {"type": "monthly", "format": "csv", "year": 2026, "month": 10}


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_two_instances_share_the_queue_and_do_each_job_once(env, make_service) -> None:
    other = await make_service(
        "report",
        database=_database(env.report.settings.database_url),
        service_urls=dict(env.report.settings.service_urls),
        **REPORT_SETTINGS,
    )
    _, headers = env.user()
    await env.spend(headers, "12.34", "2026-10-05")
    jobs = [(await env.generate(headers, **MONTHLY))["id"] for _ in range(8)]
    done = [await env.finished(job, headers) for job in jobs]
    assert {d["status"] for d in done} == {"completed"}
    assert {d["attempts"] for d in done} == {1}
    events = await env.outbox("report.completed")
    assert sorted(e["report_id"] for e in events) == sorted(jobs)
    assert other.app.state.worker is not env.report.app.state.worker


async def test_a_job_left_processing_by_a_dead_worker_is_resumed(env) -> None:
    user, headers = env.user()
    report_id = uuid.uuid4()
    async with env.report.db.sessions() as session, session.begin():
        session.add(
            Report(
                id=report_id,
                user_id=user,
                report_type="monthly",
                format="pdf",
                parameters={"year": 2026, "month": 10},
                requested_by="user",
                status="processing",
                attempts=1,
                lease_until=datetime.now(UTC) - timedelta(seconds=1),
                file_name="monthly-2026-10.pdf",
            )
        )
    done = await env.finished(str(report_id), headers)
    assert (done["status"], done["attempts"]) == ("completed", 2)
    assert PdfReader(io.BytesIO(await env.download(str(report_id), headers))).pages


async def test_a_running_job_keeps_renewing_its_lease(make_service) -> None:
    report = await make_service("report", worker_enabled=False, lease_seconds=0.3)
    job = Job(uuid.uuid4(), uuid.uuid4(), ReportType.MONTHLY, ReportFormat.PDF, {"year": 2026, "month": 1}, 1)
    async with report.db.sessions() as session, session.begin():
        session.add(
            Report(
                id=job.id,
                user_id=job.user_id,
                report_type="monthly",
                format="pdf",
                parameters=job.parameters,
                requested_by="user",
                status="processing",
                attempts=1,
                lease_until=datetime.now(UTC) + timedelta(seconds=0.3),
                file_name="monthly-2026-01.pdf",
            )
        )
    beat = asyncio.create_task(report.app.state.worker._keep_lease(job))
    try:
        await asyncio.sleep(1.0)  # three leases long
        async with report.db.sessions() as session:
            row = await session.get(Report, job.id)
            assert row is not None and row.lease_until is not None
            assert row.lease_until > datetime.now(UTC)
        # So no other worker can claim it meanwhile.
        assert await report.app.state.worker.claim() is False
    finally:
        beat.cancel()


async def test_an_unavailable_upstream_is_retried_then_the_job_fails(make_service, jwt_keys) -> None:
    report = await make_service(
        "report", service_urls={"expense": NOWHERE, "income": NOWHERE}, **{**REPORT_SETTINGS, "max_attempts": 2}
    )
    user = uuid.uuid4()
    headers = jwt_keys.auth(user)
    response = await report.client.post("/api/v1/reports/generate", json=MONTHLY, headers=headers)
    job = response.json()["data"]

    async def failed() -> bool:
        async with report.db.sessions() as session:
            row = await session.get(Report, uuid.UUID(job["id"]))
            return row is not None and row.status == "failed"

    await until(failed, timeout=30)
    data = (await report.client.get(f"/api/v1/reports/{job['id']}", headers=headers)).json()["data"]
    assert data["attempts"] == 2
    assert "unavailable" in data["error_message"]
    async with report.db.sessions() as session:
        (event,) = (await session.scalars(select(OutboxEvent).where(OutboxEvent.routing_key == "report.failed"))).all()
    assert event.payload["data"]["report_id"] == job["id"]
    assert event.payload["data"]["user_id"] == str(user)
    assert "unavailable" in event.payload["data"]["reason"]


async def test_object_storage_down_is_retried_then_the_job_fails(env, make_service) -> None:
    report = await make_service(
        "report",
        service_urls=dict(env.report.settings.service_urls),
        s3_endpoint_url=NOWHERE,
        **{**REPORT_SETTINGS, "max_attempts": 2},
    )
    headers = env.keys.auth(uuid.uuid4())
    ready = await report.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["storage"].startswith("fail")
    job = (await report.client.post("/api/v1/reports/generate", json=MONTHLY, headers=headers)).json()["data"]
    done = await Env(report, env.expense, env.income, env.keys).finished(job["id"], headers, timeout=60)
    assert (done["status"], done["attempts"]) == ("failed", 2)
    assert done["error_message"] == "a service the report needs is unavailable: object storage is unavailable"


async def test_user_deleted_purges_rows_and_stored_files(env) -> None:
    user, headers = env.user()
    jobs = [(await env.generate(headers, **MONTHLY))["id"] for _ in range(2)]
    for job in jobs:
        await env.finished(job, headers)
    other, other_headers = env.user()
    kept = await env.generate(other_headers, **MONTHLY)
    await env.finished(kept["id"], other_headers)
    assert len(await env.store.keys(f"{user}/")) == 2

    event = UserDeleted(user_id=user, deleted_at=datetime.now(UTC))
    await publish_event(env.report.settings.amqp_url, event, source="user")
    await publish_event(env.report.settings.amqp_url, event, source="user")  # a redelivery changes nothing

    async def purged() -> bool:
        async with env.report.db.sessions() as session:
            left = (await session.scalars(select(Report.id).where(Report.user_id == user))).all()
            pending = await session.get(ObjectPurge, user)
        return not left and pending is None and await env.store.keys(f"{user}/") == []

    await until(purged, timeout=15)
    assert (await env.row(kept["id"])) is not None  # another user's report stays
    assert len(await env.store.keys(f"{other}/")) == 1


async def test_internal_route_queues_a_job_for_a_service(bare) -> None:
    user = uuid.uuid4()
    token = mint_service_token(bare.svc.settings.service_token_secret, "tax")
    service = {"Authorization": f"Bearer {token}"}
    body = {"user_id": str(user), "type": "tax", "format": "pdf", "year": 2025}
    response = await bare.client.post("/internal/v1/reports", json=body, headers=service)
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert (data["requested_by"], data["type"], data["parameters"]) == ("tax", "tax", {"year": 2025})
    listed = (await bare.client.get("/api/v1/reports", headers=bare.keys.auth(user))).json()["data"]
    assert [r["id"] for r in listed] == [data["id"]]
    assert (await bare.client.post("/internal/v1/reports", json=body)).status_code == 401
    user_token = bare.keys.auth(user)
    assert (await bare.client.post("/internal/v1/reports", json=body, headers=user_token)).status_code == 401
    wrong = await bare.client.post("/internal/v1/reports", json={**body, "year": None}, headers=service)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["field"] == "year"


async def test_portfolio_report_values_the_holdings(make_service, jwt_keys) -> None:
    investment = await make_service("investment", snapshot_enabled=False, service_urls={"market-data": NOWHERE})
    user = uuid.uuid4()
    headers = jwt_keys.auth(user)
    client = investment.client
    portfolio = (await client.post("/api/v1/portfolios", json={"name": "Main"}, headers=headers)).json()["data"]
    base = f"/api/v1/portfolios/{portfolio['id']}"
    vti = (await client.post(f"{base}/assets", json={"asset_type": "etf", "symbol": "VTI"}, headers=headers)).json()
    trade = {"asset_id": vti["data"]["id"], "transaction_type": "buy", "date": "2026-10-01", "quantity": "4"}
    response = await client.post(f"{base}/transactions", json={**trade, "price": "200"}, headers=headers)
    assert response.status_code == 201, response.text
    async with served(investment.app) as url:
        report = await make_service("report", service_urls={"investment": url}, **REPORT_SETTINGS)
        env = Env(report, investment, investment, jwt_keys)
        job = await env.generate(headers, type="portfolio", format="pdf")
        done = await env.finished(job["id"], headers)
        assert done["status"] == "completed", done
        text = PdfReader(io.BytesIO(await env.download(job["id"], headers))).pages[0].extract_text()
    assert "Portfolio report" in text
    assert "VTI" in text and "800.00" in text


async def test_tax_report_from_the_tax_services_calculation(make_service, jwt_keys) -> None:
    tax = await make_service("tax", service_urls={"market-data": NOWHERE})
    user = uuid.uuid4()
    headers = jwt_keys.auth(user)
    async with served(tax.app) as url:
        report = await make_service("report", service_urls={"tax": url}, **REPORT_SETTINGS)
        env = Env(report, tax, tax, jwt_keys)
        missing = await env.generate(headers, type="tax", format="pdf", year=2025)
        failed = await env.finished(missing["id"], headers)
        assert failed["status"] == "failed"
        assert failed["error_message"].startswith("no tax calculation for 2025")
        profile = {"country_code": "US", "filing_status": "single"}
        assert (await tax.client.put("/api/v1/tax/profiles/2025", json=profile, headers=headers)).status_code == 200
        job = await env.generate(headers, type="tax", format="xlsx", year=2025)
        done = await env.finished(job["id"], headers)
        assert done["status"] == "completed", done
    (event,) = await env.outbox("report.failed")
    assert event["report_id"] == missing["id"]
