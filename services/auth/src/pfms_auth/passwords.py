"""Password rules (NIST SP 800-63B rev. 4) and argon2id hashing.

The policy is length plus a blocklist, never composition rules: at least 15 code points after NFKC
normalisation, at most 128, and not a common or breached password (or a trivial variant of one,
or a password built on the person's email address).
"""

import string
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 15
MAX_LENGTH = 128
_PADDING = string.digits + string.punctuation + string.whitespace
_MIN_LOCAL_PART = 3


def normalise(password: str) -> str:
    """NFKC, so that the same password typed on another keyboard or OS hashes alike."""
    return unicodedata.normalize("NFKC", password)


@cache
def blocklist() -> frozenset[str]:
    """The shipped list of common/breached passwords (see the file's header for its provenance)."""
    text = resources.files("pfms_auth").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _repeated_unit(value: str) -> str | None:
    """The shortest unit `value` is made of when it is that unit repeated (`abcabc` → `abc`)."""
    for size in range(1, len(value) // 2 + 1):
        if len(value) % size == 0 and value[:size] * (len(value) // size) == value:
            return value[:size]
    return None


def _is_common(candidate: str) -> bool:
    if candidate in blocklist():
        return True
    unit = _repeated_unit(candidate)
    return unit is not None and (len(unit) <= 4 or unit in blocklist())


def _local_part(email: str) -> str:
    local = email.rpartition("@")[0] or email
    return local.split("+", 1)[0]


def problems(password: str, email: str | None = None) -> list[str]:
    """Why `password` is refused (empty when it is acceptable). Messages never echo the password."""
    value = normalise(password)
    length = len(value)  # code points, after normalisation
    if length < MIN_LENGTH:
        return [f"must be at least {MIN_LENGTH} characters"]
    if length > MAX_LENGTH:
        return [f"must be at most {MAX_LENGTH} characters"]
    folded = value.casefold()
    core = folded.strip(_PADDING)
    if any(_is_common(c) for c in {folded, core} if c):
        return ["is too common: it appears in lists of breached passwords"]
    if email:
        local = normalise(_local_part(email)).casefold()
        if len(local) >= _MIN_LOCAL_PART and local in folded:
            return ["must not contain your email address"]
    return []


@dataclass(frozen=True)
class Argon2Params:
    memory_cost: int
    time_cost: int
    parallelism: int


class Hasher:
    """argon2id with the configured parameters; `needs_rehash` tells when stored hashes are weaker."""

    def __init__(self, params: Argon2Params) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalise(password))

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, normalise(password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    @cached_property
    def dummy_hash(self) -> str:
        """Verified against for unknown emails, so that they cost as much time as known ones."""
        return self._hasher.hash("not-a-real-password-only-spends-time")
