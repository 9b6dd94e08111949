"""Load kong.yml strictly and resolve plugin precedence the way Kong 3.x does.

The local gateway is only trustworthy if it enforces exactly what Kong would. So every entity
kind, field and plugin option it does not implement is an error at load time (naming the key),
instead of being silently ignored, and plugin defaults are Kong's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from pfms_gateway.plugins import PRIORITIES
from pfms_gateway.schema import (
    PLUGIN_FIELDS,
    PLUGIN_SCHEMAS,
    REQUIRED,
    ConfigError,
    Validator,
    boolean,
    enum,
    number,
    only,
    opt_str,
    protocols,
    record,
    str_list,
    string,
    tags_list,
    uuid_str,
)

__all__ = ["JWKS_TAG", "ConfigError", "Consumer", "JwtSecret", "KongConfig", "PluginConf", "Route", "Service"]

JWKS_TAG = "jwks-from-auth"


# --- entities ---


@dataclass(frozen=True)
class PluginConf:
    name: str
    config: dict[str, Any]
    scope: str  # "global" | "service" | "route"
    owner: str | None  # service or route name
    enabled: bool = True
    tags: tuple[str, ...] = ()

    @property
    def priority(self) -> int:
        return PRIORITIES[self.name]

    @property
    def uid(self) -> str:
        """Identity of this instance: Kong keys rate-limit counters by the plugin's own scope."""
        return f"{self.scope}:{self.owner or ''}:{self.name}"


@dataclass(frozen=True)
class JwtSecret:
    key: str
    algorithm: str
    rsa_public_key: str
    id: str | None = None


@dataclass
class Consumer:
    username: str | None
    id: str
    custom_id: str | None = None
    tags: tuple[str, ...] = ()
    jwt_secrets: list[JwtSecret] = field(default_factory=list)


@dataclass
class Route:
    name: str
    service: str
    paths: tuple[str, ...]
    preserve_host: bool = False
    regex_priority: int = 0
    tags: tuple[str, ...] = ()
    plugins: list[PluginConf] = field(default_factory=list)
    response_buffering: bool = True


@dataclass
class Service:
    name: str
    url: str
    host: str
    port: int
    connect_timeout: int = 60000
    read_timeout: int = 60000
    write_timeout: int = 60000
    retries: int = 5
    tags: tuple[str, ...] = ()
    routes: list[Route] = field(default_factory=list)
    plugins: list[PluginConf] = field(default_factory=list)


@dataclass
class KongConfig:
    format_version: str
    services: list[Service]
    consumers: list[Consumer]
    plugins: list[PluginConf]  # global ones
    source: str = "<memory>"

    @property
    def routes(self) -> list[Route]:
        return [r for s in self.services for r in s.routes]

    def service(self, name: str) -> Service:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    def route(self, name: str) -> Route:
        for r in self.routes:
            if r.name == name:
                return r
        raise KeyError(name)

    def effective_plugins(self, route: Route) -> dict[str, PluginConf]:
        """Kong OSS runs one instance per plugin name: route beats service beats global."""
        chosen: dict[str, PluginConf] = {}
        for layer in (self.plugins, self.service(route.service).plugins, route.plugins):
            for plugin in layer:
                if plugin.enabled:
                    chosen[plugin.name] = plugin
        return dict(sorted(chosen.items(), key=lambda kv: -kv[1].priority))

    def jwks_consumers(self) -> list[Consumer]:
        return [c for c in self.consumers if JWKS_TAG in c.tags]


def _parse_plugins(items: Any, scope: str, owner: str | None, where: str) -> list[PluginConf]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"{where}: expected a list of plugins")
    result: list[PluginConf] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        at = f"{where}[{i}]"
        if isinstance(raw, dict):
            for ref in ("service", "route", "consumer", "consumer_group"):
                if ref in raw:
                    raise ConfigError(
                        f"{at}: key {ref!r} (scoping by reference) is not implemented; nest the plugin "
                        "under its service or route instead (consumer-scoped plugins are not supported)"
                    )
        entity = record(raw, PLUGIN_FIELDS, at)
        name = entity["name"]
        if name not in PLUGIN_SCHEMAS:
            raise ConfigError(
                f"{at}: plugin {name!r} is not implemented by the local gateway (supported: {sorted(PLUGIN_SCHEMAS)})"
            )
        if name in seen:
            raise ConfigError(f"{at}: plugin {name!r} is configured twice at the same scope")
        seen.add(name)
        fields, check = PLUGIN_SCHEMAS[name]
        conf = record(entity["config"], fields, f"{at}({name}).config")
        check(conf, f"{at}({name}).config")
        result.append(PluginConf(name, conf, scope, owner, entity["enabled"], tuple(entity["tags"])))
    return result


def _path(value: Any, where: str) -> str:
    path = string(value, where)
    if path.startswith("~"):
        try:
            re.compile(path[1:])
        except re.error as exc:
            raise ConfigError(f"{where}: invalid regex {path!r}: {exc}") from exc
    elif not path.startswith("/"):
        raise ConfigError(f"{where}: path {path!r} must start with '/' (or '~' for a regex)")
    return path


def _paths(value: Any, where: str) -> list[str]:
    result = str_list(_path)(value, where)
    if not result:
        raise ConfigError(f"{where}: at least one path is required (hosts/methods/headers matching is not implemented)")
    return result


_ROUTE_FIELDS: dict[str, tuple[Validator, Any]] = {
    "name": (string, REQUIRED),
    "id": (uuid_str, None),
    "paths": (_paths, REQUIRED),
    "strip_path": (
        only(False, "; set strip_path: false explicitly (Kong's default is true)"),
        True,
    ),
    "preserve_host": (boolean, False),
    "protocols": (protocols, ["http", "https"]),
    "regex_priority": (number(), 0),
    "path_handling": (enum("v0", "v1"), "v0"),
    "https_redirect_status_code": (enum(426, 301, 302, 307, 308), 426),
    "request_buffering": (only(True, " (requests are buffered)"), True),
    "response_buffering": (boolean, True),
    "tags": (tags_list, []),
    "plugins": (lambda v, w: v, None),
}

_SERVICE_FIELDS: dict[str, tuple[Validator, Any]] = {
    "name": (string, REQUIRED),
    "id": (uuid_str, None),
    "url": (string, REQUIRED),
    "connect_timeout": (number(1, 2**31 - 1), 60000),
    "read_timeout": (number(1, 2**31 - 1), 60000),
    "write_timeout": (number(1, 2**31 - 1), 60000),
    "retries": (number(0, 32767), 5),
    "enabled": (only(True), True),
    "tags": (tags_list, []),
    "routes": (lambda v, w: v, None),
    "plugins": (lambda v, w: v, None),
}

_SECRET_FIELDS: dict[str, tuple[Validator, Any]] = {
    "key": (string, REQUIRED),
    "algorithm": (enum("RS256", "RS384", "RS512"), "HS256"),
    "rsa_public_key": (string, REQUIRED),
    "id": (uuid_str, None),
    "tags": (tags_list, []),
}

_CONSUMER_FIELDS: dict[str, tuple[Validator, Any]] = {
    "username": (opt_str, None),
    "custom_id": (opt_str, None),
    "id": (uuid_str, None),
    "tags": (tags_list, []),
    "jwt_secrets": (lambda v, w: v, []),
}

_TOP_FIELDS: dict[str, tuple[Validator, Any]] = {
    "_format_version": (enum("3.0", "3.1"), REQUIRED),
    "_transform": (boolean, True),
    "services": (lambda v, w: v, []),
    "consumers": (lambda v, w: v, []),
    "plugins": (lambda v, w: v, []),
}


def _service_url(url: str, where: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ConfigError(f"{where}: only http:// upstreams are implemented, got {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or not parts.hostname:
        raise ConfigError(f"{where}: a service url with a path or query is not implemented: {url!r}")
    return parts.hostname, parts.port or 80


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list")
    return value


def load_secret(raw: Any, where: str) -> JwtSecret:
    data = record(raw, _SECRET_FIELDS, where)
    _check_pem(data["rsa_public_key"], f"{where}.rsa_public_key")
    return JwtSecret(data["key"], data["algorithm"], data["rsa_public_key"], data["id"])


def _check_pem(pem: str, where: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ConfigError(f"{where}: not a valid PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(f"{where}: not an RSA public key")


def parse_config(data: Any, source: str = "<memory>") -> KongConfig:
    """Validate a parsed kong.yml; raises ConfigError naming the first unsupported key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    for key in data:
        if key not in _TOP_FIELDS:
            raise ConfigError(
                f"{source}: entity kind or key {key!r} is not implemented by the local gateway "
                f"(supported: {sorted(_TOP_FIELDS)})"
            )
    top = record(data, _TOP_FIELDS, source)

    services: list[Service] = []
    route_names: set[str] = set()
    for i, raw in enumerate(_list(top["services"], "services")):
        where = f"services[{i}]"
        s = record(raw, _SERVICE_FIELDS, where)
        where = f"services[{i}]({s['name']})"
        if any(x.name == s["name"] for x in services):
            raise ConfigError(f"{where}: duplicate service name")
        host, port = _service_url(s["url"], f"{where}.url")
        svc = Service(
            s["name"],
            s["url"],
            host,
            port,
            int(s["connect_timeout"]),
            int(s["read_timeout"]),
            int(s["write_timeout"]),
            int(s["retries"]),
            tuple(s["tags"]),
        )
        svc.plugins = _parse_plugins(s["plugins"], "service", svc.name, f"{where}.plugins")
        for j, rraw in enumerate(_list(s["routes"], f"{where}.routes")):
            rwhere = f"{where}.routes[{j}]"
            r = record(rraw, _ROUTE_FIELDS, rwhere)
            if r["name"] in route_names:
                raise ConfigError(f"{rwhere}: duplicate route name {r['name']!r}")
            route_names.add(r["name"])
            route = Route(
                r["name"],
                svc.name,
                tuple(r["paths"]),
                r["preserve_host"],
                int(r["regex_priority"]),
                tuple(r["tags"]),
                response_buffering=r["response_buffering"],
            )
            route.plugins = _parse_plugins(r["plugins"], "route", route.name, f"{rwhere}({route.name}).plugins")
            svc.routes.append(route)
        services.append(svc)

    consumers: list[Consumer] = []
    keys: set[str] = set()
    for i, raw in enumerate(_list(top["consumers"], "consumers")):
        where = f"consumers[{i}]"
        c = record(raw, _CONSUMER_FIELDS, where)
        if not c["username"] and not c["custom_id"]:
            raise ConfigError(f"{where}: a consumer needs a username or a custom_id")
        consumer = Consumer(
            c["username"],
            c["id"] or str(uuid.uuid5(uuid.NAMESPACE_URL, f"consumer:{c['username']}")),
            c["custom_id"],
            tuple(c["tags"]),
        )
        for j, sraw in enumerate(_list(c["jwt_secrets"], f"{where}.jwt_secrets")):
            secret = load_secret(sraw, f"{where}.jwt_secrets[{j}]")
            if secret.key in keys:
                raise ConfigError(f"{where}.jwt_secrets[{j}]: duplicate jwt_secret key {secret.key!r}")
            keys.add(secret.key)
            consumer.jwt_secrets.append(secret)
        consumers.append(consumer)

    plugins = _parse_plugins(top["plugins"], "global", None, "plugins")
    return KongConfig(top["_format_version"], services, consumers, plugins, source)


def load_config(path: str | Path) -> KongConfig:
    """Read and validate a kong.yml file."""
    text = Path(path).read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(data, str(path))


def iter_paths(config: KongConfig) -> Iterable[tuple[Route, str]]:
    for route in config.routes:
        for path in route.paths:
            yield route, path
