"""Rules for what people type into their profile and preferences: pure functions, no I/O.

Each function returns the normalised value or raises `ValueError` with a message fit for the
error envelope; the schemas attach them to fields so the envelope names the field.
"""

import re
import unicodedata
import zoneinfo
from datetime import date, time
from decimal import Decimal
from functools import cache
from urllib.parse import urlsplit

import langcodes
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from pfms_finance.currency import normalise_currency

NAME_MAX = 100
URL_MAX = 2048
LANGUAGE_TAG_MAX = 35
MAX_AGE_YEARS = 130
MONEY_PLACES = 2
MONEY_INTEGER_DIGITS = 15
"""NUMERIC(19,4) keeps 15 integer digits."""

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# zoneinfo lists these, but they are not places a person lives in.
_NOT_ZONES = frozenset({"Factory", "localtime"})


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def currency(value: str) -> str:
    return normalise_currency(value)


def timezone(value: str) -> str:
    name = value.strip()
    if name not in time_zones():
        raise ValueError("must be an IANA time zone, e.g. Europe/Paris")
    return name


def language(value: str) -> str:
    """A BCP 47 tag, stored in its standard form (`en-us` → `en-US`, `iw` → `he`)."""
    tag = value.strip()
    if not tag or len(tag) > LANGUAGE_TAG_MAX or "_" in tag or not langcodes.tag_is_valid(tag):
        raise ValueError("must be a BCP 47 language tag, e.g. en or pt-BR")
    standard: str = langcodes.standardize_tag(tag)
    return standard


def phone(value: str) -> str:
    """An E.164 number (`+` and up to 15 digits, no spaces) that numbering plans say can exist."""
    if not _E164.fullmatch(value):
        raise ValueError("must be in E.164 format, e.g. +14155552671")
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:  # e.g. no such country code
        valid = False
    if not valid:
        raise ValueError("is not a valid phone number")
    return value


def name(value: str) -> str:
    """Trimmed, 1 to 100 characters, no control characters (they break exports and logs)."""
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    if len(text) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError("must not contain control characters")
    return text


def avatar_url(value: str) -> str:
    """An https URL with a host and no embedded credentials: clients load it as an image."""
    url = value.strip()
    if len(url) > URL_MAX:
        raise ValueError(f"must be at most {URL_MAX} characters")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ValueError("must be an https URL") from exc
    if parts.scheme != "https" or not host:
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    return url


def date_of_birth(value: date, *, today: date) -> date:
    """In the past, and no more than 130 years ago."""
    if value >= today:
        raise ValueError("must be in the past")
    if value < _years_before(today, MAX_AGE_YEARS):
        raise ValueError(f"must be within the last {MAX_AGE_YEARS} years")
    return value


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a non-leap target year
        return day.replace(year=day.year - years, day=28)


def money(value: Decimal) -> Decimal:
    """Zero or more, at most two decimals, and small enough for the NUMERIC(19,4) columns."""
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value < 0:
        raise ValueError("must be zero or more")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_PLACES:
        raise ValueError(f"must have at most {MONEY_PLACES} decimal places")
    if value >= Decimal(10) ** MONEY_INTEGER_DIGITS:
        raise ValueError(f"must be less than 10^{MONEY_INTEGER_DIGITS}")
    return value


def email(value: str) -> str:
    """A syntactically valid address, normalised and lower-cased so invitations match profiles."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("must be a valid email address") from exc
    normalized: str = result.normalized
    return normalized.lower()


def clock(value: object) -> time:
    """A local wall-clock time to the minute, 24-hour `HH:MM` (no zone: quiet hours follow the profile's)."""
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be a 24-hour time HH:MM, e.g. 22:00")
    return time(int(match[1]), int(match[2]))
