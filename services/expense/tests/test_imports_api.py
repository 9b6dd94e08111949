"""Bulk import through the API: exact reports, duplicates, re-uploads, bad files, every format."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pfms_expense.models import Expense, ImportBatch, ImportMapping

pytestmark = pytest.mark.integration

UPLOAD = "/api/v1/expenses/bulk-import"
BATCHES = "/api/v1/expenses/imports"
FILES = Path(__file__).parent / "files"
GERMAN = {
    "date": "Buchungstag",
    "date_format": "%d.%m.%Y",
    "amount": "Betrag",
    "description": ["Verwendungszweck"],
    "currency": "Währung",
    "decimal_separator": ",",
    "thousands_separator": ".",
}


async def upload(env, person, name: str, content: bytes, **form) -> dict:
    form = {k: (json.dumps(v) if isinstance(v, dict) else str(v)) for k, v in form.items()}
    response = await env.client.post(UPLOAD, files={"file": (name, content)}, data=form, headers=person.headers)
    assert response.status_code == 202, response.text
    return response.json()["data"]


async def finished(env, person, batch_id: str) -> dict:
    report: dict = {}

    async def done() -> bool:
        nonlocal report
        report = env.data(await env.client.get(f"{BATCHES}/{batch_id}", headers=person.headers))
        return report["status"] in ("completed", "failed")

    await env.until(done)
    return report


def issues(report: dict) -> list[tuple[int, str]]:
    return [(i["row"], i["kind"]) for i in report["issues"]]


async def test_csv_with_errors_and_duplicates_gets_the_exact_report_and_a_reupload_imports_nothing(env) -> None:
    alice = await env.signup()
    by_hand = await env.expense(
        alice, amount="3.50", currency="EUR", expense_date="2026-01-07", description='café "zur post"'
    )
    content = (FILES / "bank-de.csv").read_bytes() + b"10.01.2026;10.01.2026;REWE Markt Berlin;-9,99;EUR\r\n"
    accepted = await upload(
        env, alice, "bank-de.csv", content, mapping=GERMAN, save_mapping_as="Sparkasse", currency="EUR"
    )
    assert accepted["status"] in ("pending", "processing", "completed")
    report = await finished(env, alice, accepted["id"])
    assert report["status"] == "completed", report
    counts = [report[k] for k in ("total_rows", "successful_rows", "duplicate_rows", "failed_rows", "skipped_rows")]
    assert counts == [7, 2, 2, 2, 1]
    assert issues(report) == [(2, "skipped"), (3, "duplicate"), (4, "error"), (5, "error"), (7, "duplicate")]
    reasons = {i["row"]: i["reason"] for i in report["issues"]}
    assert "already recorded" in reasons[3] and "does not match %d.%m.%Y" in reasons[4]
    assert "'ZZZ' is not an active ISO 4217" in reasons[5] and reasons[7] == "same transaction as row 6"
    assert (report["progress_percent"], report["processed_bytes"]) == (100, len(content))
    imported = [e for e in await env.outbox("expense.created") if e["source"] == "import"]
    assert sorted((e["amount"], e["currency"]) for e in imported) == [("1234.56", "EUR"), ("9.99", "EUR")]
    assert await env.count(Expense, Expense.user_id == alice.user_id) == 3
    errors_only = await env.client.get(
        f"{BATCHES}/{accepted['id']}/issues", params={"kind": "error"}, headers=alice.headers
    )
    assert [i["row"] for i in env.data(errors_only)] == [4, 5]
    assert by_hand["id"]

    saved = env.data(await env.client.get("/api/v1/expenses/import-mappings", headers=alice.headers))
    assert [m["name"] for m in saved] == ["Sparkasse"]
    again = await finished(
        env, alice, (await upload(env, alice, "again.csv", content, mapping_id=saved[0]["id"], currency="EUR"))["id"]
    )
    assert (again["successful_rows"], again["duplicate_rows"]) == (0, 4), "the same file imports nothing twice"
    assert await env.count(Expense, Expense.user_id == alice.user_id) == 3


async def test_a_bad_file_changes_nothing_and_says_why(env) -> None:
    alice = await env.signup()
    broken = b"Date,Amount,Text\n2026-01-01,-1.00,ok\n2026-01-02,-2.00,\xff\xfe broken\n"
    report = await finished(
        env,
        alice,
        (
            await upload(
                env, alice, "x.csv", broken, mapping={"date": "Date", "amount": "Amount", "description": ["Text"]}
            )
        )["id"],
    )
    assert report["status"] == "failed" and "not valid utf-8" in report["message"]
    assert (report["total_rows"], report["successful_rows"], report["issues"]) == (0, 0, [])
    missing = await finished(
        env,
        alice,
        (
            await upload(
                env, alice, "y.csv", b"Date,Total\n2026-01-01,-1\n", mapping={"date": "Date", "amount": "Amount"}
            )
        )["id"],
    )
    assert missing["status"] == "failed" and "'Amount' is not in the header" in missing["message"]
    xml = await finished(
        env, alice, (await upload(env, alice, "s.xml", b"<Document><BkToCstmrStmt><Stmt><Ntry>"))["id"]
    )
    assert xml["status"] == "failed" and "well-formed" in xml["message"]
    assert await env.count(Expense) == 0
    assert await env.outbox("expense.created") == []


async def test_ofx_qif_and_camt053(env) -> None:
    alice = await env.signup()
    v1 = await finished(
        env, alice, (await upload(env, alice, "checking.ofx", (FILES / "statement-v1.ofx").read_bytes()))["id"]
    )
    assert (v1["status"], v1["format"], v1["successful_rows"], v1["skipped_rows"]) == ("completed", "ofx", 1, 1)
    # The same FITID in another file (here with another description) is the same transaction.
    renamed = (FILES / "statement-v1.ofx").read_bytes().replace(b"GROCERY STORE #12", b"GROCERY STORE 12 NEW NAME")
    again = await finished(env, alice, (await upload(env, alice, "again.qfx", renamed))["id"])
    assert (again["successful_rows"], again["duplicate_rows"]) == (0, 1)
    v2 = await finished(
        env, alice, (await upload(env, alice, "card.ofx", (FILES / "statement-v2.ofx").read_bytes()))["id"]
    )
    assert (v2["successful_rows"], v2["skipped_rows"], v2["failed_rows"]) == (2, 1, 1)
    qif = await finished(
        env,
        alice,
        (await upload(env, alice, "checking.qif", (FILES / "checking.qif").read_bytes(), currency="CAD"))["id"],
    )
    assert (qif["successful_rows"], qif["skipped_rows"], qif["failed_rows"]) == (2, 1, 1)
    camt = await finished(
        env, alice, (await upload(env, alice, "statement.xml", (FILES / "statement.camt053.xml").read_bytes()))["id"]
    )
    assert (camt["format"], camt["successful_rows"], camt["skipped_rows"], camt["failed_rows"]) == ("camt053", 2, 1, 1)
    groceries = await env.category_id(alice, "Groceries")
    listed = env.data(
        await env.client.get("/api/v1/expenses", params={"source": "import", "limit": 50}, headers=alice.headers)
    )
    by_description = {e["description"]: e for e in listed}
    assert by_description["Corner Grocer Milk and bread"]["category_id"] == groceries, "QIF category matched by name"
    assert by_description["Corner Grocer Milk and bread"]["currency"] == "CAD"
    assert by_description["Strom Januar Stadtwerke Berlin"]["amount"] == "120.50"
    batches = await env.client.get(BATCHES, headers=alice.headers)
    assert batches.json()["pagination"]["total"] == 5


async def test_bad_uploads_are_refused_before_any_job(make_service, jwt_keys) -> None:
    svc = await make_service("expense", import_max_bytes=1000, scheduler_enabled=False)
    headers = jwt_keys.auth(uuid.uuid4())

    async def post(name: str, content: bytes, **data) -> tuple[int, str]:
        response = await svc.client.post(UPLOAD, files={"file": (name, content)}, data=data, headers=headers)
        body = response.json()
        return response.status_code, (body["error"]["details"] or [{"field": None}])[0]["field"]

    assert await post("x.pdf", b"%PDF") == (422, "format")
    assert await post("x.csv", b"a,b\n") == (422, "mapping")
    assert await post("x.csv", b"a,b\n", mapping="{not json") == (422, "mapping")
    assert await post("x.csv", b"a,b\n", mapping='{"date": "a"}') == (422, "mapping")
    assert await post("x.csv", b"a,b\n", mapping='{"date": "a", "amount": "b", "colour": 1}') == (422, "mapping.colour")
    assert await post("x.csv", b"a,b\n", mapping_id=str(uuid.uuid4())) == (422, "mapping_id")
    assert await post("x.ofx", b"OFX", currency="EURO") == (422, "currency")
    assert await post("x.ofx", b"") == (422, "file")
    assert await post("x.ofx", b"x" * 1001) == (413, "file")
    assert (await svc.client.post(UPLOAD, data={"format": "csv"}, headers=headers)).status_code == 422
    async with svc.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ImportBatch)) == 0
        assert await session.scalar(select(func.count()).select_from(ImportMapping)) == 0


async def test_another_users_batch_and_mapping_are_not_found(env) -> None:
    alice, mallory = await env.signup(), await env.signup()
    batch = await upload(env, alice, "checking.ofx", (FILES / "statement-v1.ofx").read_bytes())
    await finished(env, alice, batch["id"])
    mapping = env.data(
        await env.client.post(
            "/api/v1/expenses/import-mappings",
            json={"name": "Mine", "mapping": {"date": "d", "amount": "a"}},
            headers=alice.headers,
        )
    )
    assert (await env.client.get(f"{BATCHES}/{batch['id']}", headers=mallory.headers)).status_code == 404
    assert (await env.client.get(f"{BATCHES}/{batch['id']}/issues", headers=mallory.headers)).status_code == 404
    assert env.data(await env.client.get(BATCHES, headers=mallory.headers)) == []
    assert (
        await env.client.delete(f"/api/v1/expenses/import-mappings/{mapping['id']}", headers=mallory.headers)
    ).status_code == 404
    reuse = await env.client.post(
        UPLOAD,
        files={"file": ("x.csv", b"d,a\n2026-01-01,-1\n")},
        data={"mapping_id": mapping["id"]},
        headers=mallory.headers,
    )
    assert reuse.status_code == 422 and reuse.json()["error"]["details"][0]["field"] == "mapping_id"
    dup = await env.client.post(
        "/api/v1/expenses/import-mappings",
        json={"name": "Mine", "mapping": {"date": "d", "amount": "a"}},
        headers=alice.headers,
    )
    assert dup.status_code == 409
    assert (
        env.data(await env.client.delete(f"/api/v1/expenses/import-mappings/{mapping['id']}", headers=alice.headers))[
            "name"
        ]
        == "Mine"
    )


async def test_a_job_whose_instance_died_is_reported_failed(make_service) -> None:
    """The scheduler fails a batch without progress for `import_stale_seconds`; a moving one stays."""
    svc = await make_service("expense", scheduler_interval_seconds=0.1, import_stale_seconds=60)
    user = uuid.uuid4()
    async with svc.db.sessions() as session, session.begin():
        for age, name in ((timedelta(hours=1), "a-stale.csv"), (timedelta(seconds=1), "b-moving.csv")):
            session.add(
                ImportBatch(
                    id=uuid.uuid4(),
                    user_id=user,
                    filename=name,
                    format="csv",
                    file_sha256="0" * 64,
                    file_bytes=1,
                    status="processing",
                    options={},
                    updated_at=datetime.now(UTC) - age,
                )
            )

    async def statuses() -> list[str]:
        async with svc.db.sessions() as session:
            rows = await session.scalars(select(ImportBatch).order_by(ImportBatch.filename))
            return [f"{r.status}: {r.message}" for r in rows]

    for _ in range(100):
        if (await statuses())[0].startswith("failed"):
            break
        await asyncio.sleep(0.05)
    assert await statuses() == ["failed: The import was interrupted; nothing was imported", "processing: None"]
