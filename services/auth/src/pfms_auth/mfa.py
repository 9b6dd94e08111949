"""TOTP (RFC 6238) and one-time backup codes: pure rules, no storage."""

import hmac
import secrets
from datetime import datetime

import pyotp

from pfms_auth.tokens import digest

TOTP_DIGITS = 6
TOTP_WINDOW = 1
"""Steps accepted either side of now: covers a 30-second clock drift or a code typed as it rolls over."""
BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper without doubt
_BACKUP_GROUPS = 4
_BACKUP_GROUP_SIZE = 4


def new_secret() -> str:
    """160 random bits in base32, the size RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def match_totp(secret: str, code: str, now: datetime, last_used_step: int | None) -> int | None:
    """The time step `code` belongs to, or None. A step already used (or older) never matches again,
    so a code seen over someone's shoulder cannot be replayed."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_backup_codes() -> list[str]:
    """Ten codes of 16 symbols from a 32-letter alphabet (80 bits each): a SHA-256 of one is safe to store."""
    return [
        "-".join(
            "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(_BACKUP_GROUP_SIZE)) for _ in range(_BACKUP_GROUPS)
        )
        for _ in range(BACKUP_CODE_COUNT)
    ]


def normalise_backup_code(code: str) -> str:
    """People type codes in any case, with or without the dashes and spaces."""
    return "".join(ch for ch in code.upper() if ch not in "- ")


def backup_code_digest(code: str) -> str:
    return digest(normalise_backup_code(code))
