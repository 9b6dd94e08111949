"""TWR, XIRR, FX by date and the analytics summary, on worked examples checked by hand."""

import uuid
from datetime import date
from decimal import Decimal as D

import numpy as np
import pytest

from pfms_investment.analytics import AssetMeta, analyse
from pfms_investment.lots import Kind, Method, Txn
from pfms_investment.returns import Point, money_weighted, period_start, simple_return, solve_xirr, twr
from pfms_investment.state import rebuild
from pfms_investment.valuation import FxTable, Holding, MissingRate, series, walk


def test_twr_with_a_mid_period_deposit() -> None:
    # Jan 1: buy 1000 (first money in: day return 1000/1000 - 1 = 0).
    # Jan 31: value grew to 1100, then 1100 more is deposited -> 2200: (2200 - 1100) / 1000 - 1 = +10 %.
    # Feb 28: value 1980, no flow: 1980 / 2200 - 1 = -10 %.  TWR = 1.10 x 0.90 - 1 = -1 %.
    points = [
        Point(date(2024, 1, 1), D(1000), D(1000)),
        Point(date(2024, 1, 31), D(2200), D(1100)),
        Point(date(2024, 2, 28), D(1980), D(0)),
    ]
    assert twr(D(0), points) == D("-0.01")
    # The deposit's size does not change TWR (it is what TWR is for): 10x the deposit, same -1 %.
    bigger = [points[0], Point(date(2024, 1, 31), D(12100), D(11000)), Point(date(2024, 2, 28), D(10890), D(0))]
    assert twr(D(0), bigger) == D("-0.01")


def test_twr_counts_fees_on_the_first_day_and_withdrawals_at_the_close() -> None:
    # Buy 10 @ 100 with a 5 fee: 1000 / 1005 - 1 = -0.4975 %; next day +20 % then 595 withdrawn (sell net):
    # (600 + 595) / 1000 - 1 = +19.5 %.  (1 - 0.004975...) x 1.195 - 1 = 0.189055 (to 6 places).
    points = [Point(date(2024, 1, 1), D(1000), D(1005)), Point(date(2024, 1, 2), D(600), D(-595))]
    assert twr(D(0), points) == D("0.189055")
    assert twr(D(0), []) is None


def test_xirr_against_known_cash_flows() -> None:
    # The classic spreadsheet XIRR example: 37.336 %.
    days = [date(2008, 1, 1), date(2008, 3, 1), date(2008, 10, 30), date(2009, 2, 15), date(2009, 4, 1)]
    assert solve_xirr(days, [-10000, 2750, 4250, 3250, 2750]) == D("0.373363")
    # 1000 in, 1100 out exactly 365 days later: 10 %.
    assert solve_xirr([date(2021, 1, 1), date(2022, 1, 1)], [-1000, 1100]) == D("0.1")
    # Doubling in two years (730 days): sqrt(2) - 1 = 41.4214 %.
    assert solve_xirr([date(2021, 1, 1), date(2023, 1, 1)], [-100, 200]) == D("0.414214")
    # No rate exists when every flow has the same sign.
    assert solve_xirr([date(2021, 1, 1), date(2022, 1, 1)], [-100, -5]) is None


def test_money_weighted_uses_start_value_flows_and_end_value() -> None:
    # Start 1000, nothing else, end 1100 a year later: 10 %.
    assert money_weighted(date(2021, 1, 1), D(1000), [], date(2022, 1, 1), D(1100)) == D("0.1")
    # Flows are seen from the portfolio (buy +1000), XIRR from the investor (-1000).
    points = [Point(date(2021, 1, 1), D(1000), D(1000))]
    assert money_weighted(date(2020, 12, 31), D(0), points, date(2022, 1, 1), D(1100)) == D("0.1")


def test_period_starts() -> None:
    today = date(2024, 3, 31)
    assert period_start("1M", today, date(2020, 1, 1)) == date(2024, 2, 29)
    assert period_start("3M", today, date(2020, 1, 1)) == date(2023, 12, 31)
    assert period_start("YTD", today, date(2020, 1, 1)) == date(2023, 12, 31)
    assert period_start("1Y", today, date(2020, 1, 1)) == date(2023, 3, 31)
    assert period_start("ALL", today, date(2020, 1, 1)) == date(2019, 12, 31)
    with pytest.raises(ValueError):
        period_start("2W", today, today)


def test_simple_return() -> None:
    assert simple_return(D(400), D(440)) == D("0.1")
    assert simple_return(None, D(1)) is None


FX = FxTable("USD", {"EUR": [(date(2024, 1, 2), D("1.10")), (date(2024, 3, 1), D("1.08"))]})


def test_fx_rate_is_the_last_one_on_or_before_the_date() -> None:
    assert FX.rate("USD", date(2000, 1, 1)) == 1
    assert FX.rate("EUR", date(2024, 1, 2)) == D("1.10")
    assert FX.rate("EUR", date(2024, 2, 29)) == D("1.10")  # weekend / no publication: the day before
    assert FX.rate("EUR", date(2024, 3, 2)) == D("1.08")
    assert FX.convert(D(100), "EUR", date(2024, 3, 5)) == D("108.00")
    with pytest.raises(MissingRate):
        FX.rate("EUR", date(2024, 1, 1))
    with pytest.raises(MissingRate):
        FX.rate("GBP", date(2024, 3, 1))


def test_a_packed_fx_table_answers_as_the_plain_one() -> None:
    days = np.asarray([date(2024, 1, 2).toordinal(), date(2024, 3, 1).toordinal()], dtype=">i4")
    packed = FxTable.packed("USD", {"EUR": (days, np.asarray([1.10, 1.08], dtype=">f8"), ["1.1000000000", "1.08"])})
    for day in (date(2024, 1, 2), date(2024, 2, 29), date(2024, 3, 2)):
        assert packed.rate("EUR", day) == FX.rate("EUR", day)
    assert packed.convert(D(100), "EUR", date(2024, 3, 5)) == D("108.00")
    assert packed.span("EUR") == FX.span("EUR") == (date(2024, 1, 2), date(2024, 3, 1))
    assert packed.span("GBP") is None
    assert packed.floats("EUR")[1].tolist() == FX.floats("EUR")[1].tolist() == [1.10, 1.08]
    with pytest.raises(MissingRate):
        packed.rate("EUR", date(2024, 1, 1))
    wanted = [date(2024, 1, 2).toordinal(), date(2024, 2, 29).toordinal(), date(2024, 3, 2).toordinal()]
    assert packed.rates_on("EUR", wanted) == FX.rates_on("EUR", wanted) == [D("1.10"), D("1.10"), D("1.08")]
    assert packed.rates_on("USD", wanted) == [1, 1, 1]
    with pytest.raises(MissingRate):
        packed.rates_on("EUR", [date(2024, 1, 1).toordinal(), *wanted])


def test_walk_values_each_day_at_that_days_prices_and_rates() -> None:
    txns = [Txn(uuid.uuid4(), Kind.BUY, date(2024, 1, 2), D(10), D(100))]
    holding = Holding.of(rebuild(txns, Method.FIFO)[0])
    prices = [series([(date(2024, 2, 1), D(105)), (date(2024, 3, 4), D(110))])]
    points = walk(["EUR"], [holding], prices, FX, [date(2024, 2, 15), date(2024, 3, 5)])
    # Jan 2: 10 x 100 EUR x 1.10 = 1100 USD (and a 1100 USD flow); Feb 15: 10 x 105 x 1.10 = 1155;
    # Mar 5: 10 x 110 x 1.08 = 1188. (Values feed only ratios: floats.)
    assert [(p.day, p.value, p.flow) for p in points.values()] == [
        (date(2024, 1, 2), pytest.approx(1100), pytest.approx(1100)),
        (date(2024, 2, 15), pytest.approx(1155), 0),
        (date(2024, 3, 5), pytest.approx(1188), 0),
    ]


def test_analytics_in_the_base_currency_at_historical_rates() -> None:
    # EUR asset in a USD portfolio. Buy 10 @ 100 EUR on Jan 2 (rate 1.10): cost 1100 USD.
    # Sell 4 @ 105 EUR on Mar 4 (rate 1.08): proceeds 420 EUR = 453.60 USD, cost 400 EUR at 1.10 = 440 USD
    # -> realized +13.60 USD (a 20 EUR gain less the euro's fall on the cost: 21.60 - 8).
    # Today (Mar 5): 6 @ 110 EUR x 1.08 = 712.80 USD; open cost 600 EUR x 1.10 = 660 USD -> unrealized +52.80.
    meta = AssetMeta(uuid.uuid4(), "SAP", "SAP SE", "stock", "Technology", "EUR")
    txns = [
        Txn(uuid.uuid4(), Kind.BUY, date(2024, 1, 2), D(10), D(100)),
        Txn(uuid.uuid4(), Kind.SELL, date(2024, 3, 4), D(4), D(105)),
    ]
    prices = [[(date(2024, 3, 5), D(110))]]
    bench = [(date(2024, 2, 4), D(400)), (date(2024, 3, 5), D(420))]
    holding = Holding.of(rebuild(txns, Method.FIFO)[0])
    out = analyse("USD", Method.FIFO, [meta], [holding], [series(p) for p in prices], FX, date(2024, 3, 5), bench)
    assert out["current_value"] == D("712.80")
    assert out["invested"] == D("660.00")
    assert out["realized_pnl"] == D("13.60")
    assert out["unrealized_pnl"] == D("52.80")
    assert out["total_return"] == D("66.40")
    assert out["total_return_percent"] == D("6.0364")  # 66.40 / 1100
    assert out["allocation"]["currency"] == [{"key": "EUR", "value": D("712.80"), "percent": D(100)}]
    row = out["assets"][0]
    assert (row["quantity"], row["value"], row["cost_basis"], row["unrealized_pnl"]) == (
        D(6),
        D("660.00"),
        D("600.00"),
        D("60.00"),
    )
    one_month = next(r for r in out["returns"] if r["period"] == "1M")
    # Feb 5 close (start): 10 x 100 EUR x 1.10 = 1100; Mar 4: 6 x 105 x 1.08 = 680.40 after 453.60 out:
    # (680.40 + 453.60) / 1100 = 1134 / 1100; Mar 5: 712.80 / 680.40. Linked: (1134 x 712.80) / (1100 x 680.40)
    # = 808315.20 / 748440 = 1.08 -> +8 %.
    assert one_month["twr"] == D("0.08")
    assert one_month["benchmark"] == D("0.05")  # 400 -> 420
    assert all(r["xirr"] is not None for r in out["returns"])
