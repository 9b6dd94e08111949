"""Insight rules on constructed histories (no I/O)."""

import statistics
import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pfms_ai import insights
from pfms_ai.categorizer import merchant_key
from pfms_ai.readmodel import Spent

TODAY = date(2025, 6, 15)


def spent(description: str, amount: str, day: date, category: str = "Other") -> Spent:
    return Spent(str(uuid.uuid4()), Decimal(amount), "USD", category, day, description, merchant_key(description))


def test_a_monthly_subscription_is_found_with_its_yearly_cost() -> None:
    history = [spent("NETFLIX.COM", "15.49", TODAY - timedelta(days=10 + 30 * i), "Subscriptions") for i in range(6)]
    history.append(spent("NETFLIX.COM", "3.00", TODAY - timedelta(days=3), "Subscriptions"))  # a one-off rental
    [sub] = insights.subscriptions(history, TODAY, "USD")
    assert sub.metadata["period"] == "monthly"
    assert sub.metadata["charges"] == 6
    assert sub.amount == Decimal("15.49")
    assert Decimal(sub.metadata["yearly_cost"]) == (Decimal("15.49") * 365 / 30).quantize(Decimal("0.01"))
    assert sub.metadata["next_expected"] == (TODAY + timedelta(days=20)).isoformat()


def test_weekly_is_found_and_irregular_or_stopped_charges_are_not() -> None:
    weekly = [spent("Gym class", "12.00", TODAY - timedelta(days=7 * i)) for i in range(5)]
    irregular = [spent("Corner shop", "12.00", TODAY - timedelta(days=d)) for d in (1, 9, 30, 33, 70)]
    stopped = [spent("Old magazine", "4.99", TODAY - timedelta(days=120 + 30 * i)) for i in range(4)]
    found = insights.subscriptions(weekly + irregular + stopped, TODAY, "USD")
    assert [(f.metadata["merchant"], f.metadata["period"]) for f in found] == [("gym class", "weekly")]


def test_an_unusual_amount_is_flagged_with_its_robust_z_score() -> None:
    usual = ["41.20", "52.10", "47.80", "39.90", "55.00", "44.30", "50.60", "48.10"]
    history = [spent(f"Shop {i}", a, TODAY - timedelta(days=40 + i), "Groceries") for i, a in enumerate(usual)]
    big = spent("Shop big", "412.00", TODAY - timedelta(days=2), "Groceries")
    [found] = insights.anomalies([*history, big], TODAY, "USD", threshold=3.5)
    others = [Decimal(a) for a in usual]
    median = statistics.median(others)
    mad = statistics.median([abs(x - median) for x in others])
    z = (Decimal("412.00") - median) / (Decimal("1.4826") * mad)
    assert found.metadata["expense_id"] == big.id
    assert Decimal(found.metadata["robust_z"]) == z.quantize(Decimal("0.01"))
    assert found.severity == "high" and found.metadata["samples"] == len(usual)


def test_ordinary_amounts_and_flat_histories_raise_nothing() -> None:
    usual = ["41.20", "52.10", "47.80", "39.90", "55.00", "44.30", "50.60", "48.10", "53.00"]
    history = [spent(f"Shop {i}", a, TODAY - timedelta(days=i), "Groceries") for i, a in enumerate(usual)]
    assert insights.anomalies(history, TODAY, "USD", threshold=3.5) == []
    rent = [spent("Rent", "1200", TODAY - timedelta(days=30 * i), "Rent & Mortgage") for i in range(8)]
    # a history that never varies has no spread to measure against: no score, no alert
    assert (
        insights.anomalies([*rent, spent("Rent", "1250", TODAY, "Rent & Mortgage")], TODAY, "USD", threshold=3.5) == []
    )


def test_duplicates_within_the_window_only() -> None:
    first = spent("AMAZON MKTPLACE", "29.99", TODAY - timedelta(days=5))
    second = spent("AMAZON MKTPLACE", "29.99", TODAY - timedelta(days=4))
    later = spent("AMAZON MKTPLACE", "29.99", TODAY)
    other = spent("AMAZON MKTPLACE", "30.00", TODAY - timedelta(days=4))
    found = insights.duplicates([first, second, other], TODAY, "USD", window_days=3)
    assert [f.metadata["expense_ids"] for f in found] == [[first.id, second.id]]
    assert len(insights.duplicates([first, later], TODAY, "USD", window_days=3)) == 0


def test_month_over_month_reports_large_moves_with_their_numbers() -> None:
    may, april = date(2025, 5, 10), date(2025, 4, 10)
    history = [
        spent("Tesco", "300", may, "Groceries"),
        spent("Tesco", "200", april, "Groceries"),
        spent("Pizza", "100", may, "Restaurants"),
        spent("Pizza", "95", april, "Restaurants"),
        spent("Cinema", "20", may, "Events & Outings"),
        spent("Cinema", "80", april, "Events & Outings"),
    ]
    found = {f.category: f for f in insights.month_over_month(history, TODAY, "USD", threshold=Decimal(20))}
    assert set(found) == {"Groceries", "Events & Outings"}
    assert found["Groceries"].metadata["change_percent"] == "50.0"
    assert found["Groceries"].severity == "high" and found["Groceries"].amount == Decimal("100.00")
    assert found["Events & Outings"].metadata["change_percent"] == "-75.0"
    assert found["Events & Outings"].severity == "low"


def test_savings_name_the_biggest_discretionary_categories_and_subscriptions() -> None:
    history = [spent("Pizza", "150", date(2025, m, 3), "Restaurants") for m in (3, 4, 5)]
    history += [spent("Rent", "1500", date(2025, m, 1), "Rent & Mortgage") for m in (3, 4, 5)]
    subs = [
        insights.Found("sub:a", "spending_pattern", "subscription", "", "", "low", None, "USD", metadata=m)
        for m in ({"yearly_cost": "120.00", "merchant": "a"}, {"yearly_cost": "60.00", "merchant": "b"})
    ]
    found = insights.savings(history, TODAY, "USD", subs)
    assert [f.key for f in found] == ["save:Restaurants", "save:subscriptions"]
    assert found[0].metadata["monthly_saving"] == "30.00" and found[0].metadata["yearly_saving"] == "360.00"
    assert found[1].amount == Decimal("180.00")


@given(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10_000), places=2), max_size=40))
def test_monthly_totals_neither_create_nor_lose_money(amounts: list[Decimal]) -> None:
    history = [spent("x", str(a), TODAY - timedelta(days=i * 3), f"c{i % 3}") for i, a in enumerate(amounts)]
    totals = insights.by_month_and_category(history)
    assert sum((v for m in totals.values() for v in m.values()), Decimal(0)) == sum(amounts, Decimal(0))
