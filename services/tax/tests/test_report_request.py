"""`GET /api/v1/tax/reports/generate-full` asks the real report service for the year's tax report."""

from datetime import UTC, datetime

import pytest

from pfms_platform.testing.helpers import served

from .conftest import NO_MARKET, Harness, error_fields

pytestmark = pytest.mark.integration


async def test_the_report_service_queues_a_tax_report_for_the_caller(make_service, jwt_keys) -> None:
    report = await make_service("report", poll_seconds=30)
    async with served(report.app) as url:
        env = Harness(await make_service("tax", service_urls={**NO_MARKET, "report": url}), jwt_keys)
        me = env.person()
        response = await env.client.get(
            "/api/v1/tax/reports/generate-full", params={"year": 2024, "format": "xlsx"}, headers=me.headers
        )
        assert response.status_code == 202, response.text
        job = response.json()["data"]
        assert (job["type"], job["format"], job["status"], job["requested_by"]) == ("tax", "xlsx", "pending", "tax")
        assert job["parameters"] == {"year": 2024}
        mine = await report.client.get(f"/api/v1/reports/{job['id']}", headers=me.headers)
        assert mine.status_code == 200, "the job belongs to the caller"
        theirs = await report.client.get(f"/api/v1/reports/{job['id']}", headers=env.person().headers)
        assert theirs.status_code == 404

        bad = await env.client.get(
            "/api/v1/tax/reports/generate-full", params={"year": 2024, "format": "doc"}, headers=me.headers
        )
        assert bad.status_code == 422 and error_fields(bad) == ["format"]


async def test_without_the_report_service_the_answer_is_503(env: Harness) -> None:
    me = env.person()
    response = await env.client.get("/api/v1/tax/reports/generate-full", params={"year": 2024}, headers=me.headers)
    assert response.status_code == 503 and response.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"


async def test_a_future_year_is_refused_before_asking_the_report_service(env: Harness) -> None:
    """The report service refuses a year that has not begun; fuzzing found its refusal passed on as a 503."""
    next_year = datetime.now(UTC).year + 1
    response = await env.client.get(
        "/api/v1/tax/reports/generate-full", params={"year": next_year}, headers=env.person().headers
    )
    assert response.status_code == 422 and error_fields(response) == ["year"], response.text
