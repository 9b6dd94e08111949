"""A local question-answering engine over the user's own expenses and income (no I/O): rules find the
intent, dates ("last month", "in March", "last 30 days") and categories ("food") in the question, and
the answer is computed from the data, with the numbers behind it."""

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pfms_ai.readmodel import Earned, Spent
from pfms_finance.currency import quantize

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
MONTH_WORDS = "|".join(sorted(MONTHS, key=len, reverse=True))

SYNONYMS: dict[str, tuple[str, ...]] = {
    "food": ("Food & Dining", "Groceries", "Restaurants", "Coffee & Snacks"),
    "eating out": ("Restaurants", "Coffee & Snacks"),
    "dining": ("Restaurants", "Food & Dining"),
    "restaurant": ("Restaurants",),
    "grocer": ("Groceries",),
    "coffee": ("Coffee & Snacks",),
    "transport": ("Transportation", "Fuel", "Public Transport", "Taxi & Rideshare", "Parking"),
    "taxi": ("Taxi & Rideshare",),
    "uber": ("Taxi & Rideshare",),
    "fuel": ("Fuel",),
    "petrol": ("Fuel",),
    "gas": ("Fuel",),
    "rent": ("Rent & Mortgage",),
    "housing": ("Housing", "Rent & Mortgage", "Utilities", "Home Maintenance"),
    "bills": ("Utilities", "Phone & Internet", "Bills & Fees"),
    "utilities": ("Utilities",),
    "shopping": ("Shopping", "Clothing", "Electronics", "Household"),
    "clothes": ("Clothing",),
    "entertainment": ("Entertainment", "Subscriptions", "Events & Outings", "Hobbies"),
    "subscription": ("Subscriptions",),
    "health": ("Health", "Medical", "Pharmacy", "Fitness"),
    "travel": ("Travel",),
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass
class Parsed:
    intent: str
    period: Period | None = None
    categories: list[str] = field(default_factory=list)
    category_words: str | None = None
    amount: Decimal | None = None
    target: date | None = None

    def entities(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.period:
            out["period"] = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
            out["period_label"] = self.period.label
        if self.categories:
            out["categories"] = self.categories
        if self.amount is not None:
            out["amount"] = str(self.amount)
        if self.target:
            out["target_date"] = self.target.isoformat()
        return out


def _month(year: int, month: int, label: str) -> Period:
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), label)


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str, today: date) -> Period | None:
    """The first time span the question names, in the user's calendar (inclusive dates)."""
    if "yesterday" in text:
        y = today - timedelta(days=1)
        return Period(y, y, "yesterday")
    if "today" in text:
        return Period(today, today, "today")
    if m := re.search(r"\b(last|past) (\d+) (day|week|month)s?\b", text):
        n, unit = int(m.group(2)), m.group(3)
        start = _shift_month(today, -n) if unit == "month" else today - timedelta(days=n * (7 if unit == "week" else 1))
        return Period(start if unit != "month" else start.replace(day=min(today.day, 28)), today, m.group(0))
    if "this week" in text:
        return Period(today - timedelta(days=today.weekday()), today, "this week")
    if "last week" in text:
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(monday, monday + timedelta(days=6), "last week")
    if "this month" in text:
        return Period(today.replace(day=1), today, "this month")
    if "last month" in text or "previous month" in text:
        first = _shift_month(today, -1)
        return _month(first.year, first.month, "last month")
    if "this year" in text:
        return Period(date(today.year, 1, 1), today, "this year")
    if "last year" in text:
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year")
    if m := re.search(rf"\b({MONTH_WORDS})\b(?:\s+(\d{{4}}))?", text):
        month = MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (today.year if month <= today.month else today.year - 1)
        return _month(year, month, f"{calendar.month_name[month]} {year}")
    if m := re.search(r"\bin (\d{4})\b", text):
        year = int(m.group(1))
        return Period(date(year, 1, 1), date(year, 12, 31), str(year))
    return None


def parse_categories(text: str, known: list[str]) -> tuple[list[str], str | None]:
    """Categories the question names: one of the user's own category names, else a common word for a group."""
    for name in sorted(known, key=len, reverse=True):
        if re.search(rf"\b{re.escape(name.lower())}\b", text):
            return [name], name
    for word, names in SYNONYMS.items():
        if re.search(rf"\b{word}", text):
            return sorted(set(names)), word
    return [], None


def parse_target(text: str, today: date) -> date | None:
    if m := re.search(r"\bby (\d{4}-\d{2}-\d{2})\b", text):
        return date.fromisoformat(m.group(1))
    if m := re.search(rf"\bby (?:the end of )?({MONTH_WORDS})\b(?:\s+(\d{{4}}))?", text):
        month = MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (today.year if month >= today.month else today.year + 1)
        return date(year, month, calendar.monthrange(year, month)[1])
    if m := re.search(r"\bin (\d+) months?\b", text):
        end = _shift_month(today, int(m.group(1)))
        return date(end.year, end.month, calendar.monthrange(end.year, end.month)[1])
    if "next month" in text:
        end = _shift_month(today, 1)
        return date(end.year, end.month, calendar.monthrange(end.year, end.month)[1])
    return None


def parse_amount(text: str) -> Decimal | None:
    for m in re.finditer(r"(?<![\w-])[$€£₹]?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s?(k\b)?", text):
        digits = m.group(1).replace(",", "") + (m.group(2) or "")
        value = Decimal(digits)
        if m.group(3):
            value *= 1000
        if not m.group(2) and not m.group(3) and 1900 <= value <= 2100 and "," not in m.group(1):
            continue  # a year
        return value
    return None


def parse(message: str, today: date, known_categories: list[str]) -> Parsed:
    text = " ".join(message.lower().split())
    period = parse_period(text, today)
    categories, words = parse_categories(text, known_categories)
    if "afford" in text:
        amount_text = re.sub(r"\bby .*$", "", text)
        return Parsed("afford", amount=parse_amount(amount_text), target=parse_target(text, today))
    if re.search(r"\b(biggest|largest|top|most|highest)\b", text) and re.search(r"\b(categor|spend|expense)", text):
        return Parsed("top_category", period=period or Period(today.replace(day=1), today, "this month"))
    if re.search(r"\b(earn|earned|income|salary|made|make|received)\b", text):
        return Parsed("income_total", period=period or Period(today.replace(day=1), today, "this month"))
    if re.search(r"\b(save|saved|savings|net)\b", text):
        return Parsed("net_savings", period=period or Period(today.replace(day=1), today, "this month"))
    if re.search(r"\b(spend|spent|spending|pay|paid|cost|expenses?)\b", text):
        default = Period(today.replace(day=1), today, "this month")
        return Parsed("spend_total", period=period or default, categories=categories, category_words=words)
    return Parsed("help")


def _money(value: Decimal, currency: str) -> str:
    return f"{quantize(value, currency):,} {currency}"


def spent_in(spent: list[Spent], period: Period, currency: str, categories: list[str] | None = None) -> list[Spent]:
    return [
        s
        for s in spent
        if s.currency == currency and period.holds(s.day) and (not categories or s.category in categories)
    ]


def answer(
    parsed: Parsed, spent: list[Spent], earned: list[Earned], currency: str, today: date
) -> tuple[str, dict[str, Any]]:
    """(the answer in words, the figures it rests on)."""
    if parsed.intent == "spend_total":
        assert parsed.period
        rows = spent_in(spent, parsed.period, currency, parsed.categories)
        total = sum((s.amount for s in rows), Decimal(0))
        on = f" on {parsed.category_words}" if parsed.category_words else ""
        return (
            f"You spent {_money(total, currency)}{on} {_span(parsed.period)} ({len(rows)} expenses).",
            {"total": str(quantize(total, currency)), "currency": currency, "count": len(rows)},
        )
    if parsed.intent == "top_category":
        assert parsed.period
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for s in spent_in(spent, parsed.period, currency):
            totals[s.category] += s.amount
        if not totals:
            return f"You have no expenses {_span(parsed.period)}.", {"ranking": [], "currency": currency}
        ranking = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        grand = sum(totals.values(), Decimal(0))
        name, top = ranking[0]
        share = (top / grand * 100).quantize(Decimal("0.1"))
        return (
            f"Your biggest expense category {_span(parsed.period)} was {name}: {_money(top, currency)}, "
            f"{share}% of the {_money(grand, currency)} you spent.",
            {
                "category": name,
                "total": str(quantize(top, currency)),
                "share_percent": str(share),
                "currency": currency,
                "ranking": [{"category": c, "total": str(quantize(t, currency))} for c, t in ranking[:5]],
            },
        )
    if parsed.intent in ("income_total", "net_savings"):
        assert parsed.period
        period = parsed.period
        income = sum((e.amount for e in earned if e.currency == currency and period.holds(e.day)), Decimal(0))
        if parsed.intent == "income_total":
            return (
                f"You received {_money(income, currency)} {_span(period)}.",
                {"total": str(quantize(income, currency)), "currency": currency},
            )
        out = sum((s.amount for s in spent_in(spent, period, currency)), Decimal(0))
        net = income - out
        return (
            f"{_span(period).capitalize()} you received {_money(income, currency)} and spent "
            f"{_money(out, currency)}: {'saved' if net >= 0 else 'overspent by'} {_money(abs(net), currency)}.",
            {
                "income": str(quantize(income, currency)),
                "expenses": str(quantize(out, currency)),
                "net": str(quantize(net, currency)),
                "currency": currency,
            },
        )
    if parsed.intent == "afford":
        return afford(parsed, spent, earned, currency, today)
    return (
        "I can answer questions about your own money, for example: 'How much did I spend on food last month?', "
        "'What is my biggest expense category this year?', 'How much did I earn in March?', "
        "'Can I afford 1,200 by December?'",
        {},
    )


def afford(
    parsed: Parsed, spent: list[Spent], earned: list[Earned], currency: str, today: date
) -> tuple[str, dict[str, Any]]:
    """Affordability from the savings rate: the average net of the last three complete months, times
    the months left until the target (the account balance is not this service's to know)."""
    if parsed.amount is None:
        return "How much is it? Ask for example 'Can I afford 1,200 by December?'", {}
    target = parsed.target or date(
        _shift_month(today, 1).year,
        _shift_month(today, 1).month,
        calendar.monthrange(_shift_month(today, 1).year, _shift_month(today, 1).month)[1],
    )
    months = max(1, (target.year * 12 + target.month) - (today.year * 12 + today.month))
    window = Period(_shift_month(today, -3), today.replace(day=1) - timedelta(days=1), "the last three months")
    income = sum((e.amount for e in earned if e.currency == currency and window.holds(e.day)), Decimal(0))
    out = sum((s.amount for s in spent_in(spent, window, currency)), Decimal(0))
    monthly = (income - out) / 3
    projected = monthly * months
    yes = projected >= parsed.amount
    data = {
        "amount": str(parsed.amount),
        "target_date": target.isoformat(),
        "months": months,
        "monthly_net_savings": str(quantize(monthly, currency)),
        "projected_savings": str(quantize(projected, currency)),
        "affordable": yes,
        "currency": currency,
    }
    verdict = "Yes" if yes else "Not at your current pace"
    return (
        f"{verdict}: you have saved {_money(monthly, currency)} a month on average over the last three months, "
        f"so by {target.isoformat()} ({months} month{'s' if months != 1 else ''}) you would put aside "
        f"{_money(projected, currency)} against the {_money(parsed.amount, currency)} you need.",
        data,
    )


def _span(period: Period) -> str:
    if period.label in ("today", "yesterday") or period.label.startswith(("this ", "last ", "past ")):
        return f"{period.label} ({period.start.isoformat()} to {period.end.isoformat()})"
    return f"in {period.label}"
