"""Property-based fuzzing of a service's OpenAPI through the gateway, with schemathesis.

Every operation a client can reach (the service's catalogue prefixes) is called with data drawn
from its documented schema (positive) and with data that breaks it (negative), as a real
registered user, and each answer must pass the checks in CHECKS. Path parameters are drawn half
from the ids of the user's real objects (listed from the collection the path hangs off) and half
at random, so "found" handlers run, not only the 404 path.

It is synchronous (schemathesis sends with `requests`): the test runs it in a worker thread while
the event loop keeps serving the fleet.
"""

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
"""No 5xx; only documented status codes; the documented content type; bodies match their
response model; data that breaks the schema is refused with a 4xx."""

STREAMS = ("/api/v1/notifications/stream", "/api/v1/market/stream")
"""Server-Sent Events never end: their own tests read them, a fuzz case would wait forever."""

_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass
class Finding:
    operation: str
    mode: str
    error: str


@dataclass
class Target:
    """One service's schema and how to reach it as a user."""

    spec: dict[str, Any]
    base_url: str
    headers: dict[str, str]
    prefixes: tuple[str, ...]
    before_call: Callable[[], None] = lambda: None
    skip: tuple[str, ...] = STREAMS
    ids: dict[str, list[str]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    """Every status answered, to tell a real run from one where every call bounced off the door."""


def operations(target: Target) -> Iterator[Any]:
    schema = schemathesis.openapi.from_dict(target.spec)
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # a schema schemathesis cannot read is itself a finding
        operation = result.ok()
        if operation.path.startswith(target.prefixes) and not operation.path.startswith(target.skip):
            yield operation


def known_ids(target: Target, session: requests.Session, path: str) -> dict[str, list[str]]:
    """Real ids for each path parameter of `path`: the `id`s listed by the collection before it
    (`/a/{x}/b/{y}` → GET /a for x, GET /a/<x>/b for y), for the first object of each level."""
    found: dict[str, list[str]] = {}
    resolved = ""
    rest = path
    while (match := _PARAM.search(rest)) is not None:
        collection = (resolved + rest[: match.start()]).rstrip("/")
        key = f"{collection} {match.group(1)}"
        if key not in target.ids:
            target.ids[key] = _list_ids(target, session, collection)
        ids = target.ids[key]
        if not ids:
            break
        found[match.group(1)] = ids
        resolved = resolved + rest[: match.start()] + ids[0]
        rest = rest[match.end() :]
    return found


def _list_ids(target: Target, session: requests.Session, collection: str) -> list[str]:
    target.before_call()
    response = session.get(target.base_url + collection, headers=target.headers, timeout=15)
    if response.status_code != 200:
        return []
    data = response.json().get("data")
    items = data if isinstance(data, list) else [data]
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item][:5]


def fuzz(target: Target, *, examples: int, shrink: bool = False, part: tuple[int, int] = (0, 1)) -> list[Finding]:
    """Run every operation `examples` times per generation mode; every failed check is a Finding.
    `part=(i, n)` takes every n-th operation from the i-th, so a long run splits into tests that each
    stay within the per-test time limit."""
    findings: list[Finding] = []
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    index, parts = part
    with requests.Session() as session:
        for operation in list(operations(target))[index::parts]:
            ids = known_ids(target, session, operation.path)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)
                if ids and mode is GenerationMode.POSITIVE:
                    real = {name: values[0] for name, values in ids.items()}
                    strategy = st.one_of(operation.as_strategy(generation_mode=mode, path_parameters=real), strategy)
                error = _run(target, session, strategy, examples, phases)
                if error:
                    findings.append(Finding(f"{operation.method.upper()} {operation.path}", mode.value, error))
    return findings


def _run(target: Target, session: requests.Session, strategy: Any, examples: int, phases: list[Phase]) -> str | None:
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=strategy)
    def check(case: Any) -> None:
        target.before_call()
        response = case.call(base_url=target.base_url, session=session, headers=target.headers, timeout=15)
        target.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=target.headers)

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        return None  # nothing to break: an operation without parameters or body has no negative case
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is an exception group
        return _redact(str(exc), target.headers)
    return None


def _redact(text: str, headers: dict[str, str]) -> str:
    for value in headers.values():
        text = text.replace(value, "Bearer [redacted]")
    return text
