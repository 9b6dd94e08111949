"""Reports through the API: generate, poll, download, list; bad input; another user's report is a 404."""

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update

from pfms_platform.testing.helpers import until
from pfms_report.api import router
from pfms_report.domain import CONTENT_TYPES
from pfms_report.models import Report

pytestmark = pytest.mark.integration


PORTFOLIO = {"type": "portfolio", "format": "pdf"}


async def _october(env, headers) -> None:
    food = await env.category(headers, "Groceries")
    rent = await env.category(headers, "Rent")
    await env.spend(headers, "45.10", "2026-10-03", food)
    await env.spend(headers, "54.90", "2026-10-17", food)
    await env.spend(headers, "1200.00", "2026-10-01", rent)
    await env.spend(headers, "99.00", "2026-09-30", rent)  # September: not in the report
    await env.earn(headers, "4000.00", "2026-10-28")


async def test_monthly_pdf_from_real_upstreams(env) -> None:
    user, headers = env.user()
    await _october(env, headers)
    job = await env.generate(headers, type="monthly", format="pdf", year=2026, month=10)
    assert job["status"] == "pending"
    assert job["download_url"] is None
    assert job["file_name"] == "monthly-2026-10.pdf"

    done = await env.finished(job["id"], headers)
    assert done["status"] == "completed", done
    assert done["download_url"] == f"/api/v1/reports/{job['id']}/download"
    assert datetime.fromisoformat(done["expires_at"]) > datetime.now(UTC) + timedelta(hours=71)

    response = await env.report.client.get(done["download_url"], headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="monthly-2026-10.pdf"'
    assert len(response.content) == done["file_size"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in ("Monthly report", "Groceries", "100.00", "1200.00", "1300.00", "4000.00", "2700.00"):
        assert expected in text
    assert "99.00" not in text

    (event,) = await env.outbox("report.completed")
    assert event["report_id"] == job["id"]
    assert event["user_id"] == str(user)
    assert (event["report_type"], event["format"], event["size_bytes"]) == ("monthly", "pdf", done["file_size"])
    assert event["download_path"] == done["download_url"]
    assert await env.store.keys(f"{user}/") == [f"{user}/{job['id']}.pdf"]


async def test_xlsx_and_csv_of_a_custom_range(env) -> None:
    _, headers = env.user()
    await _october(env, headers)
    xlsx = await env.generate(headers, type="custom", format="xlsx", **{"from": "2026-09-01", "to": "2026-10-31"})
    sheet = await env.generate(headers, type="custom", format="csv", **{"from": "2026-09-01", "to": "2026-10-31"})
    assert (await env.finished(xlsx["id"], headers))["status"] == "completed"
    assert (await env.finished(sheet["id"], headers))["status"] == "completed"

    book = load_workbook(io.BytesIO(await env.download(xlsx["id"], headers)))
    summary = book["Summary"]
    assert [summary.cell(row=2, column=i).value for i in (1, 2, 3, 4)] == ["USD", 4000, 1399, 2601]
    assert {summary.cell(row=2, column=i).data_type for i in (2, 3, 4)} == {"n"}
    months = book["Expenses by month"]
    assert [[c.value for c in row] for row in months.iter_rows(min_row=2)] == [
        ["USD", "2026-09", 99],
        ["USD", "2026-10", 1300],
    ]

    rows = list(csv.reader(io.StringIO((await env.download(sheet["id"], headers)).decode())))
    at = rows.index(["# Summary"])
    assert rows[at + 2] == ["USD", "4000.00", "1399.00", "2601.00"]


async def test_another_users_report_is_a_404(bare) -> None:
    owner, stranger = bare.keys.auth(uuid.uuid4()), bare.keys.auth(uuid.uuid4())
    response = await bare.client.post("/api/v1/reports/generate", json=PORTFOLIO, headers=owner)
    job = response.json()["data"]
    for path in (f"/api/v1/reports/{job['id']}", f"/api/v1/reports/{job['id']}/download"):
        response = await bare.client.get(path, headers=stranger)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await bare.client.get("/api/v1/reports", headers=stranger)).json()["data"] == []
    assert (await bare.client.get("/api/v1/reports", headers=owner)).json()["pagination"]["total"] == 1
    assert (await bare.client.get(f"/api/v1/reports/{uuid.uuid4()}", headers=owner)).status_code == 404
    assert (await bare.client.get("/api/v1/reports")).status_code == 401


BAD_REQUESTS = [
    ({"type": "monthly", "format": "pdf", "year": 2026}, "month"),
    ({"type": "monthly", "format": "doc", "year": 2026, "month": 1}, "format"),
    ({"type": "weekly", "format": "pdf"}, "type"),
    ({"type": "monthly", "format": "pdf", "year": "soon", "month": 1}, "year"),
    ({"type": "monthly", "format": "pdf", "year": 2026, "month": 13}, "month"),
    ({"type": "custom", "format": "csv", "from": "2026-05-01", "to": "2026-04-01"}, "to"),
    ({"type": "custom", "format": "csv", "from": "May", "to": "2026-04-01"}, "from"),
    ({"type": "tax", "format": "pdf"}, "year"),
    ({"type": "portfolio", "format": "pdf", "colour": "red"}, "colour"),
    ({"type": "portfolio", "format": "zip"}, "format"),
]


async def test_bad_requests_name_the_field_and_create_nothing(bare) -> None:
    headers = bare.keys.auth(uuid.uuid4())
    for body, field in BAD_REQUESTS:
        response = await bare.client.post("/api/v1/reports/generate", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert field in [d["field"] for d in error["details"]], (body, error)
    as_json = {**headers, "content-type": "application/json"}
    malformed = await bare.client.post("/api/v1/reports/generate", content=b'{"type": "monthly",', headers=as_json)
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "MALFORMED_JSON"
    assert await bare.count() == 0


async def test_list_paginates_newest_first_and_filters(bare) -> None:
    headers = bare.keys.auth(uuid.uuid4())
    ids = []
    for _ in range(3):
        response = await bare.client.post("/api/v1/reports/generate", json=PORTFOLIO, headers=headers)
        ids.append(response.json()["data"]["id"])
    assert (await bare.client.post("/api/v1/reports/export", headers=headers)).status_code == 202
    page = (await bare.client.get("/api/v1/reports?limit=2&type=portfolio", headers=headers)).json()
    assert [r["id"] for r in page["data"]] == ids[::-1][:2]
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2, "has_next": True}
    exports = (await bare.client.get("/api/v1/reports?type=export", headers=headers)).json()
    assert [r["format"] for r in exports["data"]] == ["zip"]
    bad = await bare.client.get("/api/v1/reports?status=lost", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "status"
    early = await bare.client.get(f"/api/v1/reports/{ids[0]}/download", headers=headers)
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "NOT_READY"
    refused = await bare.client.post("/api/v1/reports/generate", json=PORTFOLIO, headers=headers)
    assert refused.status_code == 429  # four open jobs: the limit in this test


async def test_data_export_zip_holds_every_services_rows(env) -> None:
    user, headers = env.user()
    await _october(env, headers)
    earlier = await env.generate(headers, type="monthly", format="csv", year=2026, month=10)
    await env.finished(earlier["id"], headers)
    response = await env.report.client.post("/api/v1/reports/export", headers=headers)
    assert response.status_code == 202
    job = response.json()["data"]
    assert (job["type"], job["format"], job["file_name"]) == ("export", "zip", "pfms-data-export.zip")
    (requested,) = await env.outbox("report.export_requested")  # the auth service's audit log records it
    assert (requested["user_id"], requested["report_id"]) == (str(user), job["id"])
    done = await env.finished(job["id"], headers)
    assert done["status"] == "completed", done
    with zipfile.ZipFile(io.BytesIO(await env.download(job["id"], headers))) as archive:
        assert sorted(archive.namelist()) == ["expense.json", "income.json", "manifest.json", "report.json"]
        expense = json.loads(archive.read("expense.json"))
        income = json.loads(archive.read("income.json"))
        own = json.loads(archive.read("report.json"))
        manifest = json.loads(archive.read("manifest.json"))
    assert len(expense["tables"]["expenses"]) == 4
    assert {row["user_id"] for row in expense["tables"]["expenses"]} == {str(user)}
    assert [row["amount"] for row in income["tables"]["income_transactions"]] == ["4000.0000"]
    assert {row["id"] for row in own["tables"]["generated_reports"]} == {earlier["id"], job["id"]}
    assert manifest["user_id"] == str(user)


async def test_expired_files_are_removed_and_answer_410(env) -> None:
    user, headers = env.user()
    job = await env.generate(headers, type="monthly", format="xlsx", year=2026, month=1)
    assert (await env.finished(job["id"], headers))["status"] == "completed"
    key = f"{user}/{job['id']}.xlsx"
    assert await env.store.keys(f"{user}/") == [key]
    async with env.report.db.sessions() as session, session.begin():
        await session.execute(
            update(Report)
            .where(Report.id == uuid.UUID(job["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    async def expired() -> bool:
        row = await env.row(job["id"])
        return row is not None and row.status == "expired"

    await until(expired)  # the sweeper runs every 0.2 s here
    done = (await env.report.client.get(f"/api/v1/reports/{job['id']}", headers=headers)).json()["data"]
    assert done["download_url"] is None
    assert await env.store.keys(f"{user}/") == []
    gone = await env.report.client.get(f"/api/v1/reports/{job['id']}/download", headers=headers)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "EXPIRED"


def test_a_download_documents_the_media_type_of_every_format() -> None:
    """Fuzzing found a zip export answered as application/zip while the schema promised octet-stream."""
    app = FastAPI()
    app.include_router(router)
    responses = app.openapi()["paths"]["/api/v1/reports/{report_id}/download"]["get"]["responses"]
    assert {media.split(";")[0] for media in CONTENT_TYPES.values()} <= responses["200"]["content"].keys()
