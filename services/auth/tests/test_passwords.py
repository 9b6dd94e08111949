"""Password policy (NIST SP 800-63B rev. 4) and argon2id hashing: pure, no I/O."""

import pytest

from pfms_auth import passwords
from pfms_auth.passwords import Argon2Params, Hasher

OWASP = Argon2Params(memory_cost=19456, time_cost=2, parallelism=1)
GOOD = "lantern orbit velvet quarry"


def test_length_is_counted_in_code_points_after_nfkc() -> None:
    assert passwords.problems("k7#vQ!m2@zL9pw") == ["must be at least 15 characters"]  # 14
    assert passwords.problems("k7#vQ!m2@zL9pwX") == []  # 15
    # 7 "é" typed as two code points each: 21 code points as sent, 14 once composed by NFKC
    assert passwords.problems("e\u0301" * 7 + "mountai") == ["must be at least 15 characters"]
    assert passwords.problems("e\u0301" * 7 + "mountain") == []
    ligatures = "\ufb01" * 4 + "sherman"  # "ﬁ" expands to "fi" under NFKC: 8 + 7 = 15
    assert passwords.problems(ligatures) == []
    assert passwords.problems("🦊🐙🌵🎻🚲🧭🪁🍄🛶🎲🧩🪐🌋🦉🍋") == []  # 15 distinct emoji, one code point each


def test_no_composition_rules_and_long_passwords_allowed() -> None:
    assert passwords.problems("all lower case words are fine") == []
    assert passwords.problems("x" + "q7Lm" * 31 + "abc") == []  # 128 code points
    assert passwords.problems("x" + "q7Lm" * 31 + "abcd") == ["must be at most 128 characters"]


@pytest.mark.parametrize(
    "password",
    [
        "1qaz2wsx3edc4rfv",  # in the shipped list
        "1QAZ2WSX3EDC4RFV",  # compared case-insensitively
        "qwertyuiop12345",
        "sunshine2024!!!!!",  # a listed word padded with digits and symbols
        "passwordpassword",  # a listed word repeated
        "aaaaaaaaaaaaaaaaaaaa",
        "abcabcabcabcabcabc",
        "               ",
    ],
)
def test_common_and_trivially_derived_passwords_are_refused(password: str) -> None:
    assert passwords.problems(password) == ["is too common: it appears in lists of breached passwords"]


def test_the_shipped_blocklist_says_where_it_came_from() -> None:
    assert len(passwords.blocklist()) > 30_000
    assert {"password", "123456", "iloveyou"} <= passwords.blocklist()
    head = (passwords.resources.files("pfms_auth") / "data/common-passwords.txt").read_text().splitlines()[:10]
    assert any("zxcvbn" in line for line in head) and any("Django" in line for line in head)


def test_passwords_containing_the_email_local_part_are_refused() -> None:
    assert passwords.problems("alice.smith rides bikes", "alice.smith@example.com") == [
        "must not contain your email address"
    ]
    assert passwords.problems("ALICE loves long walks", "alice+pfms@example.com") == [
        "must not contain your email address"
    ]
    assert passwords.problems("al paints the fences", "al@example.com") == []  # too short a local part to match


def test_problems_never_echo_the_password() -> None:
    secret = "sunshine2024!!!!!"
    assert all(secret not in p for p in passwords.problems(secret, "x@example.com"))


def test_hashes_are_argon2id_with_owasp_parameters_and_verify_normalised_input() -> None:
    hasher = Hasher(OWASP)
    stored = hasher.hash("e\u0301" * 8 + "-and-more")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify(stored, "é" * 8 + "-and-more")
    assert not hasher.verify(stored, "something else entirely")
    assert not hasher.verify("not-a-hash", GOOD)
    assert not hasher.needs_rehash(stored)


def test_stronger_parameters_ask_for_a_rehash() -> None:
    stored = Hasher(OWASP).hash(GOOD)
    assert Hasher(Argon2Params(memory_cost=19456, time_cost=3, parallelism=1)).needs_rehash(stored)


def test_dummy_hash_is_a_real_hash_that_matches_nothing_typed() -> None:
    hasher = Hasher(OWASP)
    assert hasher.dummy_hash.startswith("$argon2id$")
    assert not hasher.verify(hasher.dummy_hash, GOOD)
