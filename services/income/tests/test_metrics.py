"""The business counter on /metrics: every income transaction recorded moves `income_recorded_total`."""

from datetime import UTC, datetime

import pytest

from pfms_platform.testing.helpers import metric

pytestmark = pytest.mark.integration


async def test_recording_income_moves_the_income_recorded_counter(env) -> None:
    me = env.person()
    before = await metric(env.client, "income_recorded_total", service="income")
    body = {"date": datetime.now(UTC).date().isoformat(), "amount": "1200", "currency": "EUR"}
    response = await env.client.post("/api/v1/income/transactions", json=body, headers=me.headers)
    assert response.status_code == 201, response.text
    assert await metric(env.client, "income_recorded_total", service="income") - before == 1
