"""JSON-lines logging with service, level and correlation id; secrets never reach the log."""

import logging
import re
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_REDACTED_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "secret",
        "code",
        "backup_code",
        "otp",
        "cookie",
    }
)


def _add_correlation_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    cid = correlation_id.get()
    if cid:
        event["correlation_id"] = cid
    return event


_SECRET_KEY_PARTS = ("password", "passwd", "token", "secret", "authorization", "cookie", "api_key", "private_key")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\d[\d -]{6,18}(\d{2})\b")
_IBAN = re.compile(r"\b([A-Z]{2})\d{2}(?: ?[A-Z0-9]){11,30}\b")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+")


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _REDACTED_KEYS or any(part in lowered for part in _SECRET_KEY_PARTS)


def mask_text(text: str) -> str:
    """Personal data and credentials inside free text: emails become `a***@d***`, phone numbers and
    IBANs keep only their last digits / country, JWTs and `Bearer …` values disappear."""
    text = _JWT.sub("[redacted]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***", text)
    text = _IBAN.sub(lambda m: f"{m.group(1)}**[iban]", text)
    return _PHONE.sub(lambda m: f"+***{m.group(1)}", text)


def scrub(value: Any, key: str = "") -> Any:
    """A log value with secrets (by key) redacted and personal data (by shape) masked, at any depth."""
    if key and _secret_key(key):
        return "[redacted]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [scrub(v) for v in value]
    return value


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _REDACTED_KEYS:
            event[key] = "[redacted]"
    return event


def _scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """Last step before rendering (after tracebacks became text): every key and value of the line."""
    return {key: scrub(value, key) for key, value in event.items()}


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route stdlib and structlog records through one JSON renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation_id,
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            lambda _, __, ev: {"service": service, **ev},
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _scrub,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
