"""The committed kong.yml routes every catalogue service, guards every private route, and is all
the local gateway implements (it refuses anything else)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from gwkit import KONG_YML, committed_config, make_key

from pfms_gateway.config import ConfigError, KongConfig, load_config, parse_config
from pfms_gateway.main import main as gateway_main
from pfms_gateway.render import main as render_main
from pfms_gateway.router import Router, compile_regex, normalize_path
from pfms_platform.catalogue import SERVICES

PUBLIC_PATHS = {
    "~/api/v1/auth/register$",
    "~/api/v1/auth/login$",
    "~/api/v1/auth/refresh$",
    "~/api/v1/auth/password/forgot$",
    "~/api/v1/auth/password/reset$",
    "~/api/v1/auth/verify-email$",
    "~/api/v1/auth/mfa/verify$",
    "~/api/v1/auth/oauth/[^/]+/authorize$",
    "~/api/v1/auth/oauth/[^/]+/callback$",
    "~/api/v1/auth/passkeys/login/options$",
    "~/api/v1/auth/passkeys/login/verify$",
    "/.well-known/jwks.json",
    "~/api/v1/accounts/cards/webhooks/[^/]+$",
    "~/api/v1/accounts/connections/webhooks/[^/]+$",
}
PROTECTED_AUTH_URLS = [
    "/api/v1/auth/logout",
    "/api/v1/auth/logout-all",
    "/api/v1/auth/sessions",
    "/api/v1/auth/sessions/123",
    "/api/v1/auth/password/change",
    "/api/v1/auth/mfa/setup",
    "/api/v1/auth/mfa/enable",
    "/api/v1/auth/mfa/disable",
    "/api/v1/auth/account",
    "/api/v1/auth/login/extra",
    "/api/v1/auth/loginx",
    "/api/v1/auth/mfa/verify-setup",
    "/api/v1/auth/register/",
    "/api/v1/auth/oauth/providers",
    "/api/v1/auth/oauth/providers/google",
    "/api/v1/auth/oauth/google/link",
    "/api/v1/auth/oauth/link/confirm",
    "/api/v1/auth/oauth/google/callback/x",
    "/api/v1/auth/passkeys",
    "/api/v1/auth/passkeys/123",
    "/api/v1/auth/passkeys/register/options",
    "/api/v1/auth/passkeys/register/verify",
]
INTERNAL_SAMPLES = [
    "/internal",
    "/internal/",
    "/internal/users/1",
    "/internal/api/v1/auth/login",
    "/api/v1/expenses/../../internal/x",
    "/api/v1/auth/%2e%2e/%2e%2e/%2e%2e/internal/x",
    "//internal/x",
]


@pytest.fixture(scope="module")
def config() -> KongConfig:
    return load_config(KONG_YML)


@pytest.fixture(scope="module")
def router(config: KongConfig) -> Router[str]:
    return Router((p, r.regex_priority, r.name) for r in config.routes for p in r.paths)


def _is_public(config: KongConfig, route_name: str) -> bool:
    return "jwt" not in config.effective_plugins(config.route(route_name))


def test_format_and_routes_point_at_defined_services(config: KongConfig) -> None:
    assert config.format_version == "3.0"
    names = [s.name for s in config.services]
    assert len(names) == len(set(names))
    for route in config.routes:
        assert config.service(route.service).name == route.service


def test_every_catalogue_service_is_routed_with_its_port_and_prefixes(config: KongConfig) -> None:
    assert {s.name for s in config.services} == {s.name for s in SERVICES}
    for info in SERVICES:
        service = config.service(info.name)
        assert service.url == f"http://{info.name}:{info.port}"
        assert (service.host, service.port) == (info.name, info.port)
        plain = {p for r in service.routes for p in r.paths if not p.startswith("~")}
        assert set(info.paths) <= plain, info.name
        for route in service.routes:
            for path in route.paths:
                literal = path.lstrip("~").rstrip("$")
                assert any(literal.startswith(prefix) for prefix in info.paths), (route.name, path)


def test_catalogue_prefixes_reach_their_service(config: KongConfig, router: Router[str]) -> None:
    for info in SERVICES:
        for prefix in info.paths:
            for url in (prefix, prefix + "/some/id"):
                route = router.match(normalize_path(url))
                assert route is not None and config.route(route).service == info.name, url


def test_no_route_can_match_internal_or_health(config: KongConfig, router: Router[str]) -> None:
    for route in config.routes:
        for path in route.paths:
            if path.startswith("~"):
                regex = compile_regex(path)
                assert not any(regex.match(normalize_path(s)) for s in INTERNAL_SAMPLES), path
            else:
                assert not path.startswith("/internal")
                assert not any(normalize_path(s).startswith(path) for s in INTERNAL_SAMPLES), path
    for sample in [*INTERNAL_SAMPLES, "/health", "/ready", "/metrics", "/api/v1/expenses-health"]:
        if sample == "/api/v1/expenses-health":
            continue  # a plain prefix also matches longer words; Kong does the same
        assert router.match(normalize_path(sample)) is None, sample


def test_public_routes_are_exactly_the_public_auth_endpoints_and_the_webhooks(
    config: KongConfig, router: Router[str]
) -> None:
    public = {p for r in config.routes if _is_public(config, r.name) for p in r.paths}
    assert public == PUBLIC_PATHS
    for url in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/mfa/verify",
        "/api/v1/auth/oauth/google/authorize",
        "/api/v1/auth/oauth/corp-sso/callback",
        "/api/v1/auth/passkeys/login/options",
        "/api/v1/auth/passkeys/login/verify",
        "/.well-known/jwks.json",
        "/api/v1/accounts/cards/webhooks/sandbox",
        "/api/v1/accounts/connections/webhooks/plaid",
    ]:
        route = router.match(url)
        assert route is not None and _is_public(config, route), url
    for url in ["/api/v1/accounts/cards/webhooks", "/api/v1/accounts/cards/abc", "/api/v1/accounts/connections/x/sync"]:
        route = router.match(normalize_path(url))
        assert route == "accounts" and not _is_public(config, route), url
    for url in PROTECTED_AUTH_URLS:
        route = router.match(normalize_path(url))
        assert route == "auth" and not _is_public(config, route), url


def test_every_non_public_route_has_jwt_after_precedence(config: KongConfig) -> None:
    assert all(p.name != "jwt" for p in config.plugins), "jwt must not be global"
    for route in config.routes:
        effective = config.effective_plugins(route)
        if set(route.paths) <= PUBLIC_PATHS:
            assert "jwt" not in effective
            continue
        jwt = effective["jwt"].config
        assert jwt["key_claim_name"] == "kid"
        assert set(jwt["claims_to_verify"]) == {"exp", "nbf"}
        assert jwt["header_names"] == ["authorization"]
        assert jwt["uri_param_names"] == [] and jwt["cookie_names"] == []
        assert jwt["run_on_preflight"] is False


def test_rate_limits_per_ip_on_public_routes_and_per_token_elsewhere(config: KongConfig) -> None:
    for route in config.routes:
        effective = config.effective_plugins(route)
        rl = effective["rate-limiting"]
        assert rl.config["policy"] == "local" and rl.config["fault_tolerant"] is True
        assert rl.config["hide_client_headers"] is False
        if "jwt" in effective:
            assert rl.config["limit_by"] == "header" and rl.config["header_name"] == "Authorization", route.name
            assert rl.scope == effective["jwt"].scope, "per-token limit must sit where jwt sits"
        else:
            assert rl.scope == "global" and rl.config["limit_by"] == "ip", route.name


def test_edge_plugins(config: KongConfig) -> None:
    global_plugins = {p.name: p.config for p in config.plugins}
    assert set(global_plugins) == {"correlation-id", "cors", "request-size-limiting", "rate-limiting", "prometheus"}
    prom = global_plugins["prometheus"]
    assert prom["status_code_metrics"] and prom["latency_metrics"] and prom["bandwidth_metrics"]
    assert prom["upstream_health_metrics"] and prom["per_consumer"] is False
    cid = global_plugins["correlation-id"]
    assert cid == {"header_name": "X-Correlation-ID", "generator": "uuid", "echo_downstream": True}
    cors = global_plugins["cors"]
    assert {"Authorization", "Content-Type", "X-Correlation-ID", "Idempotency-Key"} <= set(cors["headers"])
    assert {"X-Correlation-ID", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
        cors["exposed_headers"]
    )
    assert cors["credentials"] is True and cors["max_age"] == 3600 and "*" not in cors["origins"]
    size = global_plugins["request-size-limiting"]
    assert (size["allowed_payload_size"], size["size_unit"], size["require_content_length"]) == (1, "megabytes", False)
    bulk = config.effective_plugins(config.route("expense-bulk-import"))["request-size-limiting"]
    assert bulk.scope == "route" and bulk.config["allowed_payload_size"] == 50
    assert config.route("expense-bulk-import").paths == ("/api/v1/expenses/bulk-import",)


STREAMS = {  # the unbuffered (Server-Sent Events) routes: route → (service, path, a sibling path)
    "market-data-stream": ("market-data", "/api/v1/market/stream", "/api/v1/market/stocks/AAPL"),
    "notification-stream": ("notification", "/api/v1/notifications/stream", "/api/v1/notifications/unread-count"),
}


def test_only_the_event_streams_are_unbuffered_and_they_keep_their_services_plugins(
    config: KongConfig, router: Router[str]
) -> None:
    assert sorted(r.name for r in config.routes if not r.response_buffering) == sorted(STREAMS)
    for name, (service, path, sibling) in STREAMS.items():
        stream = config.route(name)
        assert stream.service == service and stream.paths == (path,)
        assert router.match(normalize_path(path)) == name
        assert router.match(normalize_path(sibling)) == service
        plugins = config.effective_plugins(stream)
        assert plugins == config.effective_plugins(config.route(service))
        assert {"jwt", "rate-limiting", "cors", "correlation-id"} <= set(plugins)
        # the streams idle up to 15 s between keep-alives: the read timeout must be longer
        assert config.service(service).read_timeout > 15000


def test_consumer_takes_its_secrets_from_auth(config: KongConfig) -> None:
    (consumer,) = config.consumers
    assert consumer.username == "pfms-users" and "jwks-from-auth" in consumer.tags
    assert consumer.jwt_secrets == []


# --- strictness: what the local gateway does not implement, it refuses ---


def _mutate(fn: Any) -> dict[str, Any]:
    data = copy.deepcopy(committed_config())
    fn(data)
    return data


@pytest.mark.parametrize(
    ("mutation", "named"),
    [
        (lambda d: d["plugins"].append({"name": "key-auth"}), "key-auth"),
        (lambda d: d["plugins"][0]["config"].update(unknown_field=1), "unknown_field"),
        (lambda d: d["plugins"][3]["config"].update(policy="redis"), "policy"),
        (lambda d: d["plugins"][3]["config"].update(redis_host="redis"), "redis_host"),
        (lambda d: d.update(upstreams=[]), "upstreams"),
        (lambda d: d["services"][0]["routes"][0].update(methods=["GET"]), "methods"),
        (lambda d: d["services"][0]["routes"][0].update(strip_path=True), "strip_path"),
        (lambda d: d["services"][0]["routes"][0].update(request_buffering=False), "request_buffering"),
        (lambda d: d["services"][0]["routes"][0].update(response_buffering="no"), "response_buffering"),
        (lambda d: d["services"][0].update(host="auth"), "host"),
        (lambda d: d["consumers"][0].update(acls=[]), "acls"),
        (lambda d: d["plugins"].append({"name": "cors", "route": "auth", "config": {}}), "route"),
        (lambda d: d["services"][1]["plugins"][0]["config"].update(secret_is_base64=True), "secret_is_base64"),
    ],
)
def test_unimplemented_config_is_refused_naming_the_key(mutation: Any, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config(_mutate(mutation))


def test_gateway_refuses_to_start_on_unknown_plugin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "kong.yml"
    bad.write_text(yaml.safe_dump(_mutate(lambda d: d["plugins"].append({"name": "acl", "config": {}}))))
    assert gateway_main(["--config", str(bad), "--port", "0"]) == 2
    assert "acl" in capsys.readouterr().err


def test_render_fills_one_secret_per_kid(tmp_path: Path) -> None:
    k1, k2 = make_key("kid-current"), make_key("kid-previous")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps(
            {
                "keys": [
                    k1.jwk,
                    k2.jwk,
                    {"kty": "EC", "kid": "ec"},
                    {"kty": "RSA", "use": "enc", "kid": "e", "n": "AQ", "e": "AQ"},
                ]
            }
        )
    )
    out = tmp_path / "rendered" / "kong.yml"
    assert render_main(["--jwks", str(jwks), "--out", str(out), "--config", str(KONG_YML)]) == 0
    rendered = load_config(out)
    (consumer,) = rendered.consumers
    assert [s.key for s in consumer.jwt_secrets] == ["kid-current", "kid-previous"]
    assert all(s.algorithm == "RS256" for s in consumer.jwt_secrets)
    assert consumer.jwt_secrets[0].rsa_public_key.encode() == k1.public_pem
    # the rest of the file is untouched
    assert [r.name for r in rendered.routes] == [r.name for r in load_config(KONG_YML).routes]


def test_render_refuses_an_empty_jwks(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    assert render_main(["--jwks", str(jwks), "--out", str(tmp_path / "k.yml"), "--config", str(KONG_YML)]) == 1
