"""Benchmark: report jobs end to end, and the renderers alone.

Starts its own PostgreSQL, RabbitMQ, Redis and S3 server (moto) on loopback, migrates fresh expense,
income and report databases, and runs the three real services in this process, each served by
uvicorn on a loopback port (the report service calls the others' `/internal/v1/export` over HTTP,
with a service token, as in production). One user gets a busy year: 6,000 expenses in 12
categories and 24 income transactions (seeded straight into the tables, as the services store them).

It measures:
- the renderers alone on that month's document (build + PDF / XLSX / CSV);
- one job at a time: `POST /api/v1/reports/generate` (monthly, each format) → poll → completed,
  then the download (streamed from S3 through the service);
- the expense service's export of the user's rows alone (what every monthly job fetches);
- throughput: 20 monthly PDF jobs queued at once, drained by one worker, then by two instances.

Writes bench/results/report.json. Usage: `uv run python bench/report_jobs.py [--no-save]`.
"""

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from harness import arguments, database, load_average, machine, measured_at, percentiles, plain, servers, write_results

from pfms_devservers import Stack
from pfms_expense.main import create as create_expense
from pfms_expense.settings import Settings as ExpenseSettings
from pfms_income.main import create as create_income
from pfms_income.settings import Settings as IncomeSettings
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import served
from pfms_platform.testing.keys import TestKeys
from pfms_report import builders
from pfms_report.domain import ReportFormat
from pfms_report.main import create as create_report
from pfms_report.render import render
from pfms_report.settings import Settings as ReportSettings

DEADLINE_SECONDS = 300
EXPENSES = 6000
SEQUENTIAL = 8
QUEUED = 20
YEAR, MONTH = 2026, 6


def summary(samples: list[float]) -> dict[str, float]:
    return percentiles(samples, digits=1, stats=("p50", "p95", "max"))


async def seed(urls: dict[str, str], user_id: uuid.UUID) -> None:
    rng = random.Random(8)
    conn = await asyncpg.connect(plain(urls["expense"]))
    try:
        categories = [(uuid.uuid4(), user_id, f"Category {i:02d}") for i in range(12)]
        await conn.copy_records_to_table("expense_categories", records=categories, columns=["id", "user_id", "name"])
        rows = [
            (
                uuid.uuid4(),
                user_id,
                Decimal(rng.randint(100, 50000)) / 100,
                "USD",
                date(YEAR, 1, 1) + timedelta(days=i % 365),
                rng.choice(categories)[0],
                f"expense {i}",
            )
            for i in range(EXPENSES)
        ]
        await conn.copy_records_to_table(
            "expenses",
            records=rows,
            columns=["id", "user_id", "amount", "currency", "expense_date", "category_id", "description"],
        )
    finally:
        await conn.close()
    conn = await asyncpg.connect(plain(urls["income"]))
    try:
        income = [
            (
                uuid.uuid4(),
                user_id,
                "salary",
                Decimal("4200.00"),
                Decimal(0),
                Decimal("4200.00"),
                "USD",
                date(YEAR, m, d),
            )
            for m in range(1, 13)
            for d in (1, 15)
        ]
        await conn.copy_records_to_table(
            "income_transactions",
            records=income,
            columns=["id", "user_id", "type", "amount", "tax_deducted", "net_amount", "currency", "date"],
        )
    finally:
        await conn.close()


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[str]:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30), served(app) as url:
        yield url


def time_renderers(expense: dict[str, Any], income: dict[str, Any]) -> dict[str, Any]:
    start, end = date(YEAR, MONTH, 1), date(YEAR, MONTH, 30)
    out: dict[str, Any] = {}
    samples: list[float] = []
    for _ in range(5):
        began = time.perf_counter()
        doc = builders.cash_flow("Monthly report", start, end, expense, income)
        samples.append((time.perf_counter() - began) * 1000)
    out["build_document"] = summary(samples)
    for fmt in (ReportFormat.PDF, ReportFormat.XLSX, ReportFormat.CSV):
        samples = []
        size = 0
        for _ in range(5):
            began = time.perf_counter()
            size = len(render(doc, fmt))
            samples.append((time.perf_counter() - began) * 1000)
        out[fmt.value] = {
            **summary(samples),
            "bytes": size,
            "detail_rows": len(doc.tables[-1].rows),
        }
    return out


async def wait_done(client: httpx.AsyncClient, headers: dict[str, str], ids: list[str]) -> None:
    left = set(ids)
    while left:
        for report_id in list(left):
            data = (await client.get(f"/api/v1/reports/{report_id}", headers=headers)).json()["data"]
            if data["status"] == "completed":
                left.discard(report_id)
            elif data["status"] == "failed":
                raise RuntimeError(data["error_message"])
        await asyncio.sleep(0.02)


async def generate(client: httpx.AsyncClient, headers: dict[str, str], fmt: str) -> str:
    body = {"type": "monthly", "format": fmt, "year": YEAR, "month": MONTH}
    response = await client.post("/api/v1/reports/generate", json=body, headers=headers)
    response.raise_for_status()
    return str(response.json()["data"]["id"])


async def measure(stack: Stack, keys: TestKeys, databases: dict[str, str]) -> dict[str, Any]:
    common = {
        "amqp_url": stack.rabbitmq.url(),
        "jwks_url": keys.url,
        "log_level": "WARNING",
        "user_rate_limit_per_minute": 0,
    }
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    await seed(databases, user_id)
    result: dict[str, Any] = {}
    async with AsyncExitStack() as exits:
        expense_url = await exits.enter_async_context(
            running(
                create_expense(
                    ExpenseSettings(
                        **common,
                        database_url=databases["expense"],
                        redis_url=stack.redis.url(1),
                        scheduler_enabled=False,
                        service_urls={"market-data": "http://127.0.0.1:9"},
                    )
                )
            )
        )
        income_url = await exits.enter_async_context(
            running(
                create_income(IncomeSettings(**common, database_url=databases["income"], redis_url=stack.redis.url(2)))
            )
        )
        urls = {"expense": expense_url, "income": income_url}

        def report_settings(max_open: int) -> ReportSettings:
            return ReportSettings(
                **common,
                **stack.settings_for(ReportSettings.model_fields),
                database_url=databases["report"],
                redis_url=stack.redis.url(3),
                service_urls=urls,
                poll_seconds=0.02,
                max_open_per_user=max_open,
            )

        first = await exits.enter_async_context(running(create_report(report_settings(QUEUED + 10))))
        async with httpx.AsyncClient(base_url=first, timeout=30) as client:
            # Renderers alone, on the same data the worker gathers.
            token = {"user_id": str(user_id)}
            service = {
                "Authorization": f"Bearer {mint_service_token(report_settings(1).service_token_secret, 'bench')}"
            }
            export_ms = []
            async with httpx.AsyncClient(timeout=30) as raw:
                for _ in range(5):
                    began = time.perf_counter()
                    answer = await raw.get(f"{expense_url}/internal/v1/export", params=token, headers=service)
                    export_ms.append((time.perf_counter() - began) * 1000)
                expense = answer.json()
                income = (await raw.get(f"{income_url}/internal/v1/export", params=token, headers=service)).json()
            result["expense_export"] = {**summary(export_ms), "bytes": len(answer.content)}
            result["renderers"] = time_renderers(expense["data"]["tables"], income["data"]["tables"])

            # One job at a time, each format: submit → completed, then the download.
            for fmt in ("pdf", "xlsx", "csv"):
                job_ms, download_ms, size = [], [], 0
                for _ in range(SEQUENTIAL):
                    began = time.perf_counter()
                    report_id = await generate(client, headers, fmt)
                    await wait_done(client, headers, [report_id])
                    job_ms.append((time.perf_counter() - began) * 1000)
                    began = time.perf_counter()
                    body = (await client.get(f"/api/v1/reports/{report_id}/download", headers=headers)).content
                    download_ms.append((time.perf_counter() - began) * 1000)
                    size = len(body)
                result[f"job_{fmt}"] = {
                    "submit_to_completed": summary(job_ms),
                    "download": summary(download_ms),
                    "bytes": size,
                }

            # Throughput: QUEUED jobs at once, one worker; then the same with a second instance.
            for instances in (1, 2):
                async with AsyncExitStack() as extra:
                    if instances == 2:
                        await extra.enter_async_context(running(create_report(report_settings(QUEUED + 10))))
                    began = time.perf_counter()
                    ids = [await generate(client, headers, "pdf") for _ in range(QUEUED)]
                    await wait_done(client, headers, ids)
                    seconds = time.perf_counter() - began
                result[f"throughput_{instances}_instance{'s' if instances > 1 else ''}"] = {
                    "jobs": QUEUED,
                    "seconds": round(seconds, 2),
                    "jobs_per_second": round(QUEUED / seconds, 2),
                }
    return result


def main(save: bool) -> None:
    with servers("report") as run:
        databases = {name: database(run.stack, name) for name in ("expense", "income", "report")}
        load_before = load_average()
        timings = asyncio.run(asyncio.wait_for(measure(run.stack, run.keys, databases), DEADLINE_SECONDS))
    result = {
        "benchmark": "report jobs: gather from expense+income exports, render, store in S3, download",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "data": {
            "expenses_in_year": EXPENSES,
            "expenses_in_report_month": None,
            "categories": 12,
            "income_transactions": 24,
        },
        **timings,
    }
    result["data"]["expenses_in_report_month"] = timings["renderers"]["pdf"]["detail_rows"]
    write_results("report", result, save=save)


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
