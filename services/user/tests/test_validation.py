"""Unit tests (no I/O) of every rule on what people type, and of the request models that carry them."""

from datetime import date, time
from decimal import Decimal

import pytest
from pydantic import ValidationError

from pfms_user import validation
from pfms_user.schemas import DeliveryUpdate, FamilyInvite, FinancialUpdate, PrivacyUpdate, ProfileUpdate

TODAY = date(2026, 11, 25)


def refused(rule, value, **kw) -> str:
    with pytest.raises(ValueError) as info:
        rule(value, **kw)
    return str(info.value)


@pytest.mark.parametrize("code", ["USD", "EUR", "INR", "JPY", "XOF", "usd", " gbp "])
def test_currency_accepts_active_iso_4217_codes(code: str) -> None:
    assert validation.currency(code) == code.strip().upper()


@pytest.mark.parametrize("code", ["", "US", "DOLLAR", "ABC", "XXX", "XTS", "XAU", "DEM", "VEF", "HRK"])
def test_currency_refuses_unknown_withdrawn_and_non_money_codes(code: str) -> None:
    assert "ISO 4217" in refused(validation.currency, code)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata", "America/Argentina/Buenos_Aires"])
def test_timezone_accepts_iana_names(zone: str) -> None:
    assert validation.timezone(zone) == zone


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "europe/paris", "GMT+5", "Factory", "localtime", "+05:30"])
def test_timezone_refuses_what_is_not_an_iana_zone(zone: str) -> None:
    assert "IANA" in refused(validation.timezone, zone)


@pytest.mark.parametrize(
    ("tag", "stored"),
    [("en", "en"), ("en-us", "en-US"), ("pt-BR", "pt-BR"), ("zh-Hant-TW", "zh-Hant-TW"), ("iw", "he")],
)
def test_language_accepts_bcp47_and_stores_the_standard_form(tag: str, stored: str) -> None:
    assert validation.language(tag) == stored


@pytest.mark.parametrize("tag", ["", "english", "en_US", "e", "en-", "123", "x" * 40])
def test_language_refuses_what_is_not_a_bcp47_tag(tag: str) -> None:
    assert "BCP 47" in refused(validation.language, tag)


@pytest.mark.parametrize("number", ["+14155552671", "+447911123456", "+919876543210"])
def test_phone_accepts_valid_e164(number: str) -> None:
    assert validation.phone(number) == number


@pytest.mark.parametrize("number", ["4155552671", "+1 415 555 2671", "+1-415-555-2671", "(415) 555-2671", "+0123", ""])
def test_phone_refuses_anything_not_in_e164_form(number: str) -> None:
    assert "E.164" in refused(validation.phone, number)


@pytest.mark.parametrize("number", ["+11234567890", "+4400000000", "+999123456789"])
def test_phone_refuses_numbers_no_plan_allows(number: str) -> None:
    assert "not a valid" in refused(validation.phone, number)


def test_name_is_stripped_and_limited() -> None:
    assert validation.name("  Ada  ") == "Ada"
    assert validation.name("É" * 100) == "É" * 100
    assert "blank" in refused(validation.name, "   ")
    assert "at most 100" in refused(validation.name, "a" * 101)
    assert "control" in refused(validation.name, "Ada\x00")


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.png", "https://example.com:8443/x?y=1"])
def test_avatar_url_accepts_https(url: str) -> None:
    assert validation.avatar_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.com/a.png", "https"),
        ("javascript:alert(1)", "https"),
        ("https://", "https"),
        ("example.com/a.png", "https"),
        ("https://user:pw@example.com/a.png", "credentials"),
        ("https://exa mple.com/a.png", "spaces"),
        ("https://example.com/" + "a" * 2048, "at most"),
        ("https://[::1/a.png", "https"),
    ],
)
def test_avatar_url_refuses_others(url: str, why: str) -> None:
    assert why in refused(validation.avatar_url, url)


def test_date_of_birth_is_in_the_past_and_not_absurd() -> None:
    assert validation.date_of_birth(date(1990, 5, 17), today=TODAY) == date(1990, 5, 17)
    assert validation.date_of_birth(date(1896, 11, 25), today=TODAY) == date(1896, 11, 25)
    assert "past" in refused(validation.date_of_birth, TODAY, today=TODAY)
    assert "past" in refused(validation.date_of_birth, date(2030, 1, 1), today=TODAY)
    assert "130 years" in refused(validation.date_of_birth, date(1896, 11, 24), today=TODAY)
    leap = date(2024, 2, 29)
    assert validation.date_of_birth(date(1894, 2, 28), today=leap) == date(1894, 2, 28)


@pytest.mark.parametrize("amount", ["0", "0.5", "12.50", "999999999999999.99", "1E+3"])
def test_money_accepts_non_negative_amounts_with_two_decimals(amount: str) -> None:
    assert validation.money(Decimal(amount)) == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "why"),
    [("-0.01", "zero or more"), ("1.001", "2 decimal"), ("1000000000000000", "less than"), ("NaN", "finite")],
)
def test_money_refuses_negative_fractional_cents_and_huge(amount: str, why: str) -> None:
    assert why in refused(validation.money, Decimal(amount))


def test_email_is_normalised_for_matching() -> None:
    assert validation.email("  Ada@Example.COM ") == "ada@example.com"
    assert "valid email" in refused(validation.email, "not-an-email")


def fields(model, body: dict) -> set[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}


def test_profile_update_names_each_bad_field() -> None:
    body = {
        "first_name": " ",
        "phone": "12345",
        "avatar_url": "http://x.io",
        "date_of_birth": "2999-01-01",
        "currency": "ZZZ",
        "timezone": "Nowhere",
        "language": "english",
    }
    assert fields(ProfileUpdate, body) == set(body)
    assert fields(ProfileUpdate, {"nickname": "x"}) == {"nickname"}
    assert fields(ProfileUpdate, {"currency": None}) == {"currency"}


def test_profile_update_keeps_only_what_was_sent() -> None:
    update = ProfileUpdate.model_validate({"first_name": "  Ada ", "phone": None, "currency": "eur"})
    assert update.changes() == {"first_name": "Ada", "phone": None, "currency": "EUR"}


def test_financial_update_rules() -> None:
    assert FinancialUpdate.model_validate({"salary_day": 31, "investment_risk_level": "high"}).changes() == {
        "salary_day": 31,
        "investment_risk_level": "high",
    }
    assert fields(FinancialUpdate, {"salary_day": 0}) == {"salary_day"}
    assert fields(FinancialUpdate, {"salary_day": 32}) == {"salary_day"}
    assert fields(FinancialUpdate, {"investment_risk_level": "yolo"}) == {"investment_risk_level"}
    assert fields(FinancialUpdate, {"earning_schedule": "daily"}) == {"earning_schedule"}
    assert fields(FinancialUpdate, {"earning_schedule": None}) == {"earning_schedule"}
    assert fields(FinancialUpdate, {"savings_target": "-5"}) == {"savings_target"}
    assert fields(FinancialUpdate, {"daily_budget_limit": "1.999"}) == {"daily_budget_limit"}
    assert fields(FinancialUpdate, {"monthly_budget_limit": "Infinity"}) == {"monthly_budget_limit"}


def test_privacy_switches_are_strict_booleans() -> None:
    assert fields(PrivacyUpdate, {"show_net_worth": "yes"}) == {"show_net_worth"}
    assert fields(PrivacyUpdate, {"data_sharing": 1}) == {"data_sharing"}
    assert fields(PrivacyUpdate, {"profile_visibility": "everyone"}) == {"profile_visibility"}


def test_family_invite_needs_an_email_and_a_known_relationship() -> None:
    assert (
        FamilyInvite.model_validate({"email": "Bob@Example.com", "relationship": "spouse"}).email == "bob@example.com"
    )
    assert fields(FamilyInvite, {"email": "bob", "relationship": "spouse"}) == {"email"}
    assert fields(FamilyInvite, {"email": "bob@example.com", "relationship": "neighbour"}) == {"relationship"}


@pytest.mark.parametrize(("text", "expected"), [("00:00", time(0, 0)), ("07:05", time(7, 5)), ("23:59", time(23, 59))])
def test_clock_takes_24_hour_hh_mm(text: str, expected: time) -> None:
    assert validation.clock(text) == expected


@pytest.mark.parametrize(
    "value", ["24:00", "7:00", "07:60", "07:00:00", "07:00Z", "07:00+01:00", " 07:00", "", 420, None]
)
def test_clock_refuses_anything_but_hh_mm(value: object) -> None:
    assert "HH:MM" in refused(validation.clock, value)


def test_quiet_hours_need_both_ends_and_a_span() -> None:
    update = DeliveryUpdate.model_validate({"quiet_hours": {"start": "22:00", "end": "07:00"}})
    assert update.changes() == {"quiet_hours": {"start": time(22, 0), "end": time(7, 0)}}
    assert DeliveryUpdate.model_validate({"quiet_hours": None}).changes() == {"quiet_hours": None}
    for body, field in [
        ({"quiet_hours": {"start": "22:00"}}, ("quiet_hours", "end")),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, ("quiet_hours", "end")),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "UTC"}}, ("quiet_hours", "tz")),
        ({"quiet_hours": "22:00-07:00"}, ("quiet_hours",)),
        ({"digest": None}, ("digest",)),
        ({"digest": "yes"}, ("digest",)),
        ({"digest": 1}, ("digest",)),
    ]:
        with pytest.raises(ValidationError) as info:
            DeliveryUpdate.model_validate(body)
        assert {e["loc"] for e in info.value.errors()} == {field}, body
