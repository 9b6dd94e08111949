"""TOTP matching, backup codes, lockout arithmetic and settings guards: pure, no I/O."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from pydantic import ValidationError

from pfms_auth import lockout, mfa
from pfms_auth.settings import DEV_KEY_ENCRYPTION_KEY, Settings

NOW = datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)
POLICY = lockout.Policy(max_failures=5, window_seconds=900, lockout_seconds=900)


def test_totp_accepts_now_and_one_step_either_side_once_each() -> None:
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    assert mfa.match_totp(secret, totp.at(NOW), NOW, None) == step
    assert mfa.match_totp(secret, totp.at(NOW - timedelta(seconds=30)), NOW, None) == step - 1
    assert mfa.match_totp(secret, totp.at(NOW + timedelta(seconds=30)), NOW, None) == step + 1
    assert mfa.match_totp(secret, totp.at(NOW - timedelta(seconds=90)), NOW, None) is None


def test_a_used_step_and_older_ones_never_match_again() -> None:
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    assert mfa.match_totp(secret, totp.at(NOW), NOW, last_used_step=step) is None
    assert mfa.match_totp(secret, totp.at(NOW - timedelta(seconds=30)), NOW, last_used_step=step) is None
    assert mfa.match_totp(secret, totp.at(NOW + timedelta(seconds=30)), NOW, last_used_step=step) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_totp_codes_never_match(code: str) -> None:
    assert mfa.match_totp(mfa.new_secret(), code, NOW, None) is None


def test_secret_and_provisioning_uri() -> None:
    secret = mfa.new_secret()
    assert len(pyotp.TOTP(secret).byte_secret()) == 20
    uri = mfa.provisioning_uri(secret, "ana@example.com", "PFMS")
    assert uri.startswith("otpauth://totp/PFMS:ana%40example.com?") and f"secret={secret}" in uri


def test_backup_codes_are_ten_distinct_high_entropy_codes() -> None:
    codes = mfa.new_backup_codes()
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}", c) for c in codes)


def test_backup_codes_match_whatever_the_case_and_separators() -> None:
    code = mfa.new_backup_codes()[0]
    typed = code.lower().replace("-", " ")
    assert mfa.backup_code_digest(typed) == mfa.backup_code_digest(code)
    assert mfa.backup_code_digest(code) != mfa.backup_code_digest(mfa.new_backup_codes()[0])
    assert not mfa.is_totp_code(code)


def test_the_fifth_failure_in_the_window_locks() -> None:
    now = 10_000.0
    four = [now - 800, now - 600, now - 400, now - 200]
    assert lockout.locked_until(four, now, POLICY) is None
    assert lockout.locked_until([*four, now], now, POLICY) == now + 900


def test_failures_older_than_the_window_do_not_count() -> None:
    now = 10_000.0
    stale = [now - 900, now - 1000, now - 5000]
    assert lockout.recent([*stale, now - 1, now], now, 900) == [now - 1, now]
    assert lockout.locked_until([*stale, now - 3, now - 2, now - 1, now], now, POLICY) is None


def test_retry_after_rounds_up_and_never_says_zero() -> None:
    assert lockout.retry_after(100.2, 10.0) == 91
    assert lockout.retry_after(100.0, 99.99) == 1
    assert lockout.retry_after(100.0, 100.0) == 1


def test_argon2_parameters_cannot_go_below_owasp() -> None:
    with pytest.raises(ValidationError):
        Settings(argon2_memory_cost=8192)
    with pytest.raises(ValidationError):
        Settings(argon2_time_cost=1)


def test_production_refuses_the_dev_key_encryption_key() -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "service_token_secret": "s" * 40,
        "field_keys": {"k1": "B" * 43 + "="},
        "field_index_key": "C" * 43 + "=",
    }
    with pytest.raises(ValidationError, match="key_encryption_key"):
        Settings(**production)
    with pytest.raises(ValidationError, match="key_encryption_key"):
        Settings(**production, key_encryption_key=f"{'A' * 43}=,{DEV_KEY_ENCRYPTION_KEY}")
    assert Settings(**production, key_encryption_key="A" * 43 + "=")
