"""Log lines carry no secret and no full personal data, whether passed by key, inside a message,
nested in a value, or in a traceback."""

import json
import logging

import pytest

from pfms_platform.logging import configure_logging, get_logger, mask_text, scrub

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXBhcnQ"


def test_mask_text_masks_personal_data_and_drops_credentials() -> None:
    assert mask_text("mail jane.doe@example.com now") == "mail j***@e*** now"
    assert "+44 20 7946 0958" not in mask_text("call +44 20 7946 0958") and "58" in mask_text("+44 20 7946 0958")
    assert mask_text("IBAN DE89370400440532013000 ok") == "IBAN DE**[iban] ok"
    assert mask_text("iban GB33 BUKB 2020 1555 5555 55") == "iban GB**[iban]"
    assert mask_text(f"token {JWT} end") == "token [redacted] end"
    assert mask_text("Authorization: Bearer abc.def-123") == "Authorization: Bearer [redacted]"


def test_plain_operational_values_are_left_alone() -> None:
    for text in (
        "2026-11-26T08:24:55.123456+00:00",
        "3f2b8c1e-9a4d-4e5f-8a7b-1c2d3e4f5a6b",
        "expense.created",
        "GET /api/v1/expenses?page=2 200",
        "amount 1234.5600 USD",
    ):
        assert mask_text(text) == text


def test_scrub_redacts_secret_keys_at_any_depth() -> None:
    value = {
        "user_id": "u1",
        "headers": {"Authorization": "Bearer x", "X-Request-Id": "r1", "Cookie": "s=1"},
        "body": [{"new_password": "hunter22", "email": "a.b@c.org"}],
        "client_secret": "s",
        "refresh_token_hash": "h",
    }
    assert scrub(value) == {
        "user_id": "u1",
        "headers": {"Authorization": "[redacted]", "X-Request-Id": "r1", "Cookie": "[redacted]"},
        "body": [{"new_password": "[redacted]", "email": "a***@c***"}],
        "client_secret": "[redacted]",
        "refresh_token_hash": "[redacted]",
    }


def test_rendered_lines_hold_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-svc")
    try:
        log = get_logger("t")
        log.info("signed in jane.doe@example.com", password="hunter22hunter", phone="+15551234567", data={"jwt": JWT})
        try:
            raise ValueError("duplicate key (email)=(jane.doe@example.com) token=" + JWT)
        except ValueError:
            log.exception("insert failed")
        logging.getLogger("stdlib").warning("stdlib says Bearer %s for %s", "abcdef123", "jane.doe@example.com")
        out = capsys.readouterr().out
    finally:
        logging.getLogger().handlers[:] = []
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["service"] for line in lines] == ["test-svc"] * 3
    for secret in ("jane.doe@example.com", "hunter22hunter", "+15551234567", JWT, "abcdef123"):
        assert secret not in out
    assert lines[0]["event"] == "signed in j***@e***" and lines[0]["password"] == "[redacted]"
    assert "ValueError" in lines[1]["exception"] and "j***@e***" in lines[1]["exception"]
