"""Chat: the local engine's parsing, answers checked against totals computed here from the same data,
history, isolation between users, and the optional OpenAI-compatible endpoint (a local server)."""

import calendar
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI, Request

from pfms_ai import chat
from pfms_contracts.income import IncomeReceived
from pfms_platform.testing.helpers import served

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    ("question", "intent", "start", "end"),
    [
        ("How much did I spend on food last month?", "spend_total", date(2025, 5, 1), date(2025, 5, 31)),
        ("what did I spend in March", "spend_total", date(2025, 3, 1), date(2025, 3, 31)),
        ("spending in november", "spend_total", date(2024, 11, 1), date(2024, 11, 30)),
        ("What's my biggest expense category this year?", "top_category", date(2025, 1, 1), TODAY),
        ("how much did I earn last year", "income_total", date(2024, 1, 1), date(2024, 12, 31)),
        ("expenses in the last 7 days", "spend_total", date(2025, 6, 8), TODAY),
        ("how much did I save last week", "net_savings", date(2025, 6, 2), date(2025, 6, 8)),
    ],
)
def test_intents_and_periods(question: str, intent: str, start: date, end: date) -> None:
    parsed = chat.parse(question, TODAY, [])
    assert parsed.intent == intent
    assert parsed.period is not None and (parsed.period.start, parsed.period.end) == (start, end)


def test_categories_amounts_and_targets() -> None:
    parsed = chat.parse("How much did I spend on Pets last month?", TODAY, ["Pets", "Groceries"])
    assert parsed.categories == ["Pets"]
    food = chat.parse("how much on food this month did i spend", TODAY, [])
    assert set(food.categories) == {"Groceries", "Restaurants", "Coffee & Snacks", "Food & Dining"}
    afford = chat.parse("Can I afford a $2,400.50 laptop by December 2025?", TODAY, [])
    assert (afford.intent, afford.amount, afford.target) == ("afford", Decimal("2400.50"), date(2025, 12, 31))
    assert chat.parse("can i afford 1.5k in 3 months", TODAY, []).amount == Decimal(1500)
    assert chat.parse("can i afford 1.5k in 3 months", TODAY, []).target == date(2025, 9, 30)
    assert chat.parse("tell me a joke", TODAY, []).intent == "help"


def _month_bounds(day: date, back: int) -> tuple[date, date]:
    index = day.year * 12 + day.month - 1 - back
    year, month = index // 12, index % 12 + 1
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@pytest.mark.integration
async def test_answers_match_totals_computed_from_the_same_data(env, build_expense) -> None:
    user, stranger = uuid.uuid4(), uuid.uuid4()
    today = datetime.now(UTC).date()
    last_start, _ = _month_bounds(today, 1)
    older_start, _ = _month_bounds(today, 2)
    rows = [
        ("Whole Foods", "82.40", last_start + timedelta(days=2), "Groceries"),
        ("Trader Joe's", "45.10", last_start + timedelta(days=9), "Groceries"),
        ("Olive Garden", "61.00", last_start + timedelta(days=12), "Restaurants"),
        ("Rent", "1450.00", last_start, "Rent & Mortgage"),
        ("Shell", "38.25", last_start + timedelta(days=4), "Fuel"),
        ("Whole Foods", "70.00", older_start + timedelta(days=3), "Groceries"),
        ("Rent", "1450.00", older_start, "Rent & Mortgage"),
    ]
    mine = [build_expense(user, d, a, day, category=c) for d, a, day, c in rows]
    theirs = [
        build_expense(stranger, "Caviar house", "9999.00", last_start + timedelta(days=1), category="Restaurants")
    ]
    await env.feed(mine + theirs)
    for back in (1, 2, 3):
        await env.publish(
            IncomeReceived(
                user_id=user,
                income_id=uuid.uuid4(),
                source_type="salary",
                amount=Decimal(4000),
                net_amount=Decimal(3200),
                currency="USD",
                received_date=_month_bounds(today, back)[0],
            )
        )
    await env.wait_count("incomes", {"user_id": str(user)}, 3)

    async def ask(who: uuid.UUID, message: str, session: str | None = None) -> dict[str, Any]:
        body = {"message": message, **({"session_id": session} if session else {})}
        response = await env.client.post("/api/v1/ai/chat", json=body, headers=env.auth(who))
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    # the truth, computed independently from the rows above
    food = {"Groceries", "Restaurants", "Coffee & Snacks", "Food & Dining"}
    last_month = [(Decimal(a), c) for _, a, day, c in rows if day.month == last_start.month and day >= last_start]
    food_total = sum((a for a, c in last_month if c in food), Decimal(0))
    by_category: dict[str, Decimal] = {}
    for a, c in last_month:
        by_category[c] = by_category.get(c, Decimal(0)) + a
    top = max(by_category, key=lambda c: by_category[c])

    answer = await ask(user, "How much did I spend on food last month?")
    assert answer["intent"] == "spend_total" and answer["engine"] == "local"
    assert Decimal(answer["data"]["total"]) == food_total == Decimal("188.50")
    assert f"{food_total:,}" in answer["answer"]
    session = answer["session_id"]

    answer = await ask(user, "What was my biggest expense category last month?", session)
    assert answer["data"]["category"] == top == "Rent & Mortgage"
    assert Decimal(answer["data"]["total"]) == by_category[top]

    month_name = calendar.month_name[older_start.month]
    answer = await ask(user, f"how much did I spend in {month_name} {older_start.year}?", session)
    assert Decimal(answer["data"]["total"]) == Decimal("1520.00")

    # saved a month: (3 * 3200 - everything spent in the last three complete months) / 3
    spent_3m = sum((Decimal(a) for _, a, day, _ in rows if day < today.replace(day=1)), Decimal(0))
    monthly = (3 * Decimal(3200) - spent_3m) / 3
    answer = await ask(user, "Can I afford 5,000 in 2 months?", session)
    assert Decimal(answer["data"]["monthly_net_savings"]) == monthly.quantize(Decimal("0.01"))
    assert answer["data"]["affordable"] is (monthly * 2 >= 5000)

    stranger_answer = await ask(stranger, "How much did I spend on food last month?")
    assert Decimal(stranger_answer["data"]["total"]) == Decimal("9999.00")

    history = await env.client.get("/api/v1/ai/chat/history", params={"session_id": session}, headers=env.auth(user))
    messages = history.json()["data"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 4
    assert messages[1]["intent"] == "spend_total"
    theirs_view = await env.client.get(
        "/api/v1/ai/chat/history", params={"session_id": session}, headers=env.auth(stranger)
    )
    assert theirs_view.json()["data"] == []
    bad = await env.client.post("/api/v1/ai/chat", json={"message": ""}, headers=env.auth(user))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "message"


@pytest.mark.integration
async def test_an_openai_compatible_endpoint_words_the_answer_from_the_computed_facts(make_env, build_expense) -> None:
    seen: list[dict[str, Any]] = []
    fail = {"now": False}
    llm = FastAPI()

    @llm.post("/v1/chat/completions")
    async def completions(request: Request) -> dict[str, Any]:
        seen.append(await request.json())
        if fail["now"]:
            raise RuntimeError("model crashed")
        facts = seen[-1]["messages"][0]["content"]
        return {"choices": [{"message": {"role": "assistant", "content": f"LLM says: {facts[-40:]}"}}]}

    async with served(llm) as url:
        env = await make_env(llm_base_url=f"{url}/v1", llm_api_key="k-123", llm_model="local-model")
        user = uuid.uuid4()
        today = datetime.now(UTC).date()
        await env.feed([build_expense(user, "Pizza", "20.00", today, category="Restaurants")])
        response = await env.client.post(
            "/api/v1/ai/chat", json={"message": "how much did I spend this month"}, headers=env.auth(user)
        )
        data = response.json()["data"]
        assert data["engine"] == "llm" and data["answer"].startswith("LLM says:")
        [request] = seen
        assert request["model"] == "local-model"
        assert '"total": "20.00"' in request["messages"][0]["content"]
        assert request["messages"][1] == {"role": "user", "content": "how much did I spend this month"}

        fail["now"] = True
        fallback = await env.client.post(
            "/api/v1/ai/chat", json={"message": "how much did I spend this month"}, headers=env.auth(user)
        )
        assert fallback.json()["data"]["engine"] == "local"
        assert "20.00 USD" in fallback.json()["data"]["answer"]
