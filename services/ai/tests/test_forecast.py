"""Cash-flow forecasting: the methods on constructed series, and POST /api/v1/ai/predict/cashflow."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_ai import forecast
from pfms_contracts.income import IncomeReceived


def test_a_steady_trend_is_continued_with_no_error_band() -> None:
    series = [Decimal(1000 + 50 * i) for i in range(8)]
    result = forecast.forecast(series, 3)
    assert result.method == "level_trend"
    assert [b.point for b in result.points] == [Decimal(1400), Decimal(1450), Decimal(1500)]
    assert all(b.lower95 == b.point == b.upper95 for b in result.points)


def test_two_years_of_history_bring_the_season_back() -> None:
    december = Decimal(900)
    series = [(december if i % 12 == 11 else Decimal(300)) + i for i in range(36)]  # Jan 2022 .. Dec 2024
    result = forecast.forecast(series, 12)
    assert result.method == "seasonal_naive_drift"
    points = [b.point for b in result.points]
    assert points[11] == december + 35 + 12  # next December
    assert points[0] == Decimal(300) + 24 + 12  # next January follows last January plus a year of drift
    assert max(points) == points[11]


def test_too_little_history_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        forecast.forecast([Decimal(1), Decimal(2)], 1)


@given(
    st.lists(st.decimals(min_value=0, max_value=100_000, places=2), min_size=3, max_size=40),
    st.integers(min_value=1, max_value=24),
)
def test_intervals_nest_widen_and_never_go_negative(series: list[Decimal], horizon: int) -> None:
    result = forecast.forecast(series, horizon)
    assert len(result.points) == horizon
    for band in result.points:
        assert 0 <= band.lower95 <= band.lower80 <= band.point <= band.upper80 <= band.upper95
    unclipped = [b.upper95 - b.lower95 for b in result.points if b.lower95 > 0]  # zero-clipped bands are narrower
    assert unclipped == sorted(unclipped)


@pytest.mark.integration
async def test_predict_cashflow_from_the_users_own_history(env, build_expense) -> None:
    user, stranger = uuid.uuid4(), uuid.uuid4()
    this_month = forecast.month_index(datetime.now(UTC).date())
    months = [this_month - k for k in range(6, 0, -1)]  # the six complete months before this one
    spent = {m: Decimal(800 + 40 * k) for k, m in enumerate(months)}
    events = [
        build_expense(user, "Rent and food", str(amount), date(m // 12, m % 12 + 1, 5), category="Housing")
        for m, amount in spent.items()
    ]
    events.append(build_expense(user, "today", "999", datetime.now(UTC).date()))  # the current month is left out
    events.append(build_expense(user, "elsewhere", "5", date(months[0] // 12, months[0] % 12 + 1, 6), currency="EUR"))
    await env.feed(events)
    for m in months:
        await env.publish(
            IncomeReceived(
                user_id=user,
                income_id=uuid.uuid4(),
                source_type="salary",
                amount=Decimal(3000),
                net_amount=Decimal(2500),
                currency="USD",
                received_date=date(m // 12, m % 12 + 1, 1),
            )
        )
    await env.wait_count("incomes", {"user_id": str(user)}, len(months))

    response = await env.client.post("/api/v1/ai/predict/cashflow", json={"months": 2}, headers=env.auth(user))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["currency"] == "USD" and data["history_months"] == 6 and data["method"] == "level_trend"
    assert [h["expenses"] for h in data["history"]] == [f"{v:.2f}" for v in spent.values()]
    # truth computed here: mean of the last three months plus the Theil-Sen slope (40 a month) times h+1
    level = sum(list(spent.values())[-3:]) / 3
    first, second = data["forecast"]
    assert first["month"] == forecast.month_name(this_month)
    assert Decimal(first["expenses"]) == level + 40 * 2 and Decimal(second["expenses"]) == level + 40 * 3
    assert Decimal(first["income"]) == 2500 and Decimal(first["net"]) == 2500 - (level + 80)
    assert (
        Decimal(first["expenses_95"]["lower"]) <= Decimal(first["expenses"]) <= Decimal(first["expenses_95"]["upper"])
    )
    assert await env.svc.app.state.redis.hexists(f"user:{user}:predictions:cashflow", "2:*")

    empty = await env.client.post("/api/v1/ai/predict/cashflow", json={}, headers=env.auth(stranger))
    assert empty.status_code == 422  # a stranger has no history, and never sees this user's
    for body, field in (({"months": 0}, "months"), ({"months": 3, "x": 1}, "x"), ({"currency": "usdx"}, "currency")):
        bad = await env.client.post("/api/v1/ai/predict/cashflow", json=body, headers=env.auth(user))
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == field
