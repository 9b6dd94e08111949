"""The business counter on /metrics: every expense recorded through the API moves `expenses_created_total`."""

import pytest

from pfms_platform.testing.helpers import metric

pytestmark = pytest.mark.integration


async def test_recording_expenses_moves_the_expenses_created_counter(env) -> None:
    alice = await env.signup()
    before = await metric(env.client, "expenses_created_total", service="expense", origin="api")
    for amount in ("3.00", "4.50"):
        await env.expense(alice, amount=amount)
    after = await metric(env.client, "expenses_created_total", service="expense", origin="api")
    assert after - before == 2
    assert await metric(env.client, "http_requests_total", route="/api/v1/expenses", method="POST", status="201") >= 2
