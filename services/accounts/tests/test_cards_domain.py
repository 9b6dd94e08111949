"""Virtual-card rules without I/O: Luhn numbers, the authorisation decision and its limits, and the
sandbox issuer's webhook signatures."""

import json
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_accounts import cards
from pfms_accounts.cards import CardStatus, Decline, Limits, Spend
from pfms_accounts.issuer import TIMESTAMP_HEADER, SandboxIssuer, sandbox_payload
from pfms_platform.errors import Invalid, Unauthorized

TODAY = date(2026, 11, 26)


def test_luhn_accepts_known_numbers_and_refuses_altered_ones() -> None:
    for number in ("4111111111111111", "5555555555554444", "378282246310005", "79927398713"):
        assert cards.luhn_valid(number)
    for number in ("4111111111111112", "79927398710", "", "7", "4111-1111-1111-1111"):
        assert not cards.luhn_valid(number)
    assert cards.luhn_check_digit("7992739871") == "3"
    with pytest.raises(ValueError):
        cards.luhn_check_digit("12a")


@given(st.integers(min_value=0, max_value=15), st.integers(min_value=1, max_value=9))
def test_new_numbers_pass_luhn_and_any_single_digit_error_is_caught(position: int, delta: int) -> None:
    pan = cards.new_pan(SandboxIssuer.PREFIX)
    assert len(pan) == 16 and pan.startswith("400000") and cards.luhn_valid(pan)
    wrong = pan[:position] + str((int(pan[position]) + delta) % 10) + pan[position + 1 :]
    assert not cards.luhn_valid(wrong)
    assert cards.last4(pan) == pan[-4:]
    assert len(cards.new_cvv()) == 3 and cards.new_cvv().isdigit()


def test_new_pan_refuses_impossible_shapes() -> None:
    for prefix, length in (("4x", 16), ("4" * 16, 16), ("4", 11), ("4", 20)):
        with pytest.raises(ValueError):
            cards.new_pan(prefix, length)
    assert cards.luhn_valid(cards.new_pan("3", 19))


def test_expiry_is_through_the_last_day_of_its_month() -> None:
    assert cards.expiry(TODAY, 3) == (11, 2029)
    assert not cards.expired(11, 2026, TODAY)
    assert cards.expired(10, 2026, TODAY)
    assert not cards.expired(1, 2027, TODAY)


BASE = Spend(
    status=CardStatus.ACTIVE,
    expiry_month=11,
    expiry_year=2029,
    card_currency="USD",
    amount=Decimal("30"),
    currency="USD",
    limits=Limits(per_transaction=Decimal("50"), per_month=Decimal("100")),
    spent_this_month=Decimal("60"),
    balance=Decimal("40"),
    floor=Decimal("0"),
    archived=False,
    today=TODAY,
)


def test_an_authorisation_is_approved_up_to_every_limit_exactly() -> None:
    assert cards.decide(BASE) is None
    assert cards.decide(replace(BASE, amount=Decimal("40"))) is None  # monthly 100 and balance 40 exactly
    assert cards.decide(replace(BASE, amount=Decimal("40.01"))) is Decline.MONTHLY_LIMIT
    assert cards.decide(replace(BASE, spent_this_month=Decimal(0), amount=Decimal("50"), balance=Decimal(50))) is None
    assert (
        cards.decide(replace(BASE, amount=Decimal("50.01"), spent_this_month=Decimal(0))) is Decline.TRANSACTION_LIMIT
    )
    assert cards.decide(replace(BASE, limits=Limits(), amount=Decimal("40.01"))) is Decline.INSUFFICIENT_FUNDS
    overdraft = replace(BASE, limits=Limits(), amount=Decimal("60"), floor=Decimal("-20"))
    assert cards.decide(overdraft) is None
    assert cards.decide(replace(overdraft, amount=Decimal("60.01"))) is Decline.INSUFFICIENT_FUNDS
    assert cards.decide(replace(BASE, floor=None, balance=Decimal(-500))) is None  # no floor: nothing to check


def test_the_first_reason_that_applies_is_given() -> None:
    broke = replace(BASE, balance=Decimal(0))
    assert cards.decide(replace(broke, status=CardStatus.FROZEN)) is Decline.CARD_FROZEN
    assert cards.decide(replace(broke, status=CardStatus.CLOSED)) is Decline.CARD_CLOSED
    assert cards.decide(replace(broke, expiry_month=10, expiry_year=2026)) is Decline.CARD_EXPIRED
    assert cards.decide(replace(broke, archived=True)) is Decline.ACCOUNT_ARCHIVED
    assert cards.decide(replace(broke, currency="EUR")) is Decline.CURRENCY_MISMATCH
    assert cards.decide(broke) is Decline.INSUFFICIENT_FUNDS


@given(
    st.lists(st.decimals(min_value="0.01", max_value="500", places=2), max_size=30),
    st.decimals(min_value="0", max_value="1000", places=2),
)
def test_approved_spends_never_pass_the_monthly_limit_or_the_balance(amounts: list[Decimal], monthly: Decimal) -> None:
    """Deciding one spend after another (as the wallet lock serialises them): what is approved stays within
    the month's limit and the balance, and every refusal had a reason."""
    balance, spent = Decimal("800"), Decimal(0)
    for amount in amounts:
        spend = replace(BASE, amount=amount, limits=Limits(per_month=monthly), spent_this_month=spent, balance=balance)
        if cards.decide(spend) is None:
            balance -= amount
            spent += amount
        else:
            assert spent + amount > monthly or balance - amount < 0
    assert spent <= monthly and balance >= 0 and balance + spent == Decimal("800")


def test_the_sandbox_verifies_fresh_signed_deliveries_only() -> None:
    issuer = SandboxIssuer("secret")
    body = sandbox_payload("auth-1", "sbx_card", "12.50", "usd", "Coffee")
    issuer.verify(issuer.sign(body), body)
    now = int(time.time())
    refusals = [
        ({}, body),
        ({TIMESTAMP_HEADER: str(now)}, body),
        (issuer.sign(body), body + b" "),
        (SandboxIssuer("other").sign(body), body),
        (issuer.sign(body, now - 301), body),
        (issuer.sign(body, now + 301), body),
        ({**issuer.sign(body), TIMESTAMP_HEADER: "soon"}, body),
        ({**issuer.sign(body), TIMESTAMP_HEADER: str(now - 1)}, body),
    ]
    for headers, delivered in refusals:
        with pytest.raises(Unauthorized) as refused:
            issuer.verify(headers, delivered)
        assert refused.value.status_code == 401 and refused.value.code == "BAD_SIGNATURE"
    issuer.verify(issuer.sign(body, now - 299), body)
    auth = issuer.parse(body)
    assert (auth.id, auth.card_token, auth.amount, auth.currency, auth.merchant) == (
        "auth-1",
        "sbx_card",
        Decimal("12.50"),
        "usd",
        "Coffee",
    )
    assert issuer.parse(body).occurred_at.tzinfo is not None
    for bad in (b"{", b"[]", json.dumps({"id": "x"}).encode(), body.replace(b'"12.50"', b'"-1"')):
        with pytest.raises(Invalid):
            issuer.parse(bad)


async def test_the_sandbox_issues_luhn_valid_cards_with_an_expiry() -> None:
    issued = await SandboxIssuer("s", expiry_years=2).issue("Wallet", "USD", Limits())
    assert cards.luhn_valid(issued.pan) and issued.token.startswith("sbx_") and len(issued.cvv) == 3
    assert issued.expiry_year >= date.today().year + 2 and 1 <= issued.expiry_month <= 12
