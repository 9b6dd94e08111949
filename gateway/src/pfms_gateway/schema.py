"""The strict schema: Kong field validators and the plugin options the local gateway implements.

Every validator returns the normalised value or raises ConfigError naming the key; plugin tables
carry Kong 3.x's defaults, and fields Kong has but the local gateway does not implement are either
absent (so unknown) or pinned to the one value it supports.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any


class ConfigError(ValueError):
    """kong.yml holds something the local gateway does not implement, or something Kong rejects."""


Validator = Callable[[Any, str], Any]
REQUIRED = object()


# --- field validators: each returns the normalised value or raises ConfigError naming the key ---


def string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def opt_str(value: Any, where: str) -> str | None:
    return None if value is None else string(value, where)


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    return value


def number(lo: float | None = None, hi: float | None = None, *, optional: bool = False) -> Validator:
    def check(value: Any, where: str) -> float | int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{where}: {value!r} is outside [{lo}, {hi}]")
        return value

    return check


def enum(*allowed: Any) -> Validator:
    def check(value: Any, where: str) -> Any:
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {list(allowed)}")
        return value

    return check


def only(supported: Any, why: str = "") -> Validator:
    """A Kong field the local gateway knows but implements for one value only."""

    def check(value: Any, where: str) -> Any:
        if value != supported:
            raise ConfigError(f"{where}: {value!r} is not implemented by the local gateway (only {supported!r}){why}")
        return value

    return check


def str_list(elem: Validator = string, *, optional: bool = False) -> Validator:
    def check(value: Any, where: str) -> list[Any] | None:
        if value is None and optional:
            return None
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [elem(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return check


def uuid_str(value: Any, where: str) -> str:
    try:
        return str(uuid.UUID(string(value, where)))
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a UUID") from exc


def tags_list(value: Any, where: str) -> list[str]:
    result = str_list()(value, where)
    assert result is not None
    return result


def record(data: Any, fields: dict[str, tuple[Validator, Any]], where: str) -> dict[str, Any]:
    """Validate a mapping against a field table; unknown keys are errors, missing ones get defaults."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown or unsupported key {unknown[0]!r} (supported: {sorted(fields)})")
    out: dict[str, Any] = {}
    for key, (validator, default) in fields.items():
        if key in data:
            out[key] = validator(data[key], f"{where}.{key}")
        elif default is REQUIRED:
            raise ConfigError(f"{where}: missing required key {key!r}")
        else:
            out[key] = list(default) if isinstance(default, list) else default
    return out


# --- plugin schemas (Kong 3.x defaults) ---

_ALL_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"]
_PERIODS = ("second", "minute", "hour", "day")


def _check_jwt(conf: dict[str, Any], where: str) -> None:
    if conf["maximum_expiration"] > 0 and "exp" not in conf["claims_to_verify"]:
        raise ConfigError(f"{where}: maximum_expiration needs 'exp' in claims_to_verify")


def _check_rate_limiting(conf: dict[str, Any], where: str) -> None:
    limits = [(p, conf[p]) for p in _PERIODS if conf[p] is not None]
    if not limits:
        raise ConfigError(f"{where}: set at least one limit ({', '.join(_PERIODS)})")
    for i, (period, limit) in enumerate(limits):
        for later, later_limit in limits[i + 1 :]:
            if later_limit < limit:
                raise ConfigError(f"{where}: the limit for {later} cannot be lower than the limit for {period}")
    if conf["limit_by"] == "header" and not conf["header_name"]:
        raise ConfigError(f"{where}: limit_by 'header' needs header_name")
    if conf["limit_by"] == "path" and not conf["path"]:
        raise ConfigError(f"{where}: limit_by 'path' needs path")


def _check_none(conf: dict[str, Any], where: str) -> None:
    return None


_NOT_LOCAL = " (the local gateway keeps counters in process, like Kong's 'local' policy)"

PLUGIN_SCHEMAS: dict[str, tuple[dict[str, tuple[Validator, Any]], Callable[[dict[str, Any], str], None]]] = {
    "jwt": (
        {
            "uri_param_names": (str_list(), ["jwt"]),
            "cookie_names": (str_list(), []),
            "header_names": (str_list(), ["authorization"]),
            "key_claim_name": (string, "iss"),
            "secret_is_base64": (only(False), False),
            "claims_to_verify": (str_list(enum("exp", "nbf"), optional=True), []),
            "anonymous": (only(None), None),
            "run_on_preflight": (boolean, True),
            "maximum_expiration": (number(0, 31536000), 0),
        },
        _check_jwt,
    ),
    "rate-limiting": (
        {
            **{p: (number(0, optional=True), None) for p in _PERIODS},
            "month": (only(None, " (calendar windows)"), None),
            "year": (only(None, " (calendar windows)"), None),
            "limit_by": (enum("consumer", "credential", "ip", "service", "header", "path"), "consumer"),
            "header_name": (opt_str, None),
            "path": (opt_str, None),
            "policy": (only("local", _NOT_LOCAL), "local"),
            "fault_tolerant": (boolean, True),
            "hide_client_headers": (boolean, False),
            "error_code": (number(0), 429),
            "error_message": (string, "API rate limit exceeded"),
            "sync_rate": (only(-1, _NOT_LOCAL), -1),
        },
        _check_rate_limiting,
    ),
    "cors": (
        {
            "origins": (str_list(optional=True), None),
            "headers": (str_list(optional=True), None),
            "exposed_headers": (str_list(optional=True), None),
            "methods": (str_list(enum(*_ALL_METHODS)), _ALL_METHODS),
            "max_age": (number(optional=True), None),
            "credentials": (boolean, False),
            "preflight_continue": (boolean, False),
            "private_network": (only(False), False),
            "allow_origin_absent": (boolean, True),
        },
        _check_none,
    ),
    "correlation-id": (
        {
            "header_name": (string, "Kong-Request-ID"),
            "generator": (enum("uuid", "uuid#counter"), "uuid#counter"),
            "echo_downstream": (boolean, False),
        },
        _check_none,
    ),
    "request-size-limiting": (
        {
            "allowed_payload_size": (number(0), 128),
            "size_unit": (enum("megabytes", "kilobytes", "bytes"), "megabytes"),
            "require_content_length": (boolean, False),
        },
        _check_none,
    ),
    "prometheus": (
        {
            "per_consumer": (boolean, False),
            "status_code_metrics": (boolean, False),
            "latency_metrics": (boolean, False),
            "bandwidth_metrics": (boolean, False),
            "upstream_health_metrics": (boolean, False),
        },
        _check_none,
    ),
}


def protocols(value: Any, where: str) -> list[str]:
    result = str_list(enum("http", "https", "grpc", "grpcs"))(value, where)
    assert result is not None
    if "http" not in result:
        raise ConfigError(f"{where}: the local gateway serves plain http only, so 'http' must be listed")
    return result


PLUGIN_FIELDS: dict[str, tuple[Validator, Any]] = {
    "name": (string, REQUIRED),
    "config": (lambda v, w: v, None),
    "enabled": (boolean, True),
    "protocols": (protocols, ["grpc", "grpcs", "http", "https"]),
    "tags": (tags_list, []),
    "id": (uuid_str, None),
    "instance_name": (opt_str, None),
}
