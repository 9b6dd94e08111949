"""compose.yaml runs every catalogue service, wired to healthy infrastructure, with what each one reads."""

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pfms_platform.catalogue import SERVICES, ServiceInfo

POSTGRES = [s for s in SERVICES if s.store == "postgres"]
INFRA = {"postgres": ["postgres", "rabbitmq", "redis"], "mongo": ["mongo", "rabbitmq", "redis"]}
REQUIRED_SETTINGS = {"amqp_url", "redis_url", "jwks_url", "service_token_secret"}
STORE_SETTINGS = {"postgres": {"database_url"}, "mongo": {"mongo_url", "mongo_database"}}
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}")


def ids(services: list[ServiceInfo]) -> list[str]:
    return [s.name for s in services]


def dockerfile(repo: Path, info: ServiceInfo) -> str:
    return (repo / "services" / info.name / "Dockerfile").read_text()


def test_compose_has_exactly_the_catalogue_services_and_their_migrations(compose: dict[str, Any]) -> None:
    built = {name for name, svc in compose["services"].items() if "build" in svc and name != "kong-config"}
    expected = {s.name for s in SERVICES} | {f"{s.name}-migrate" for s in POSTGRES}
    assert built == expected


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_image_is_built_from_its_dockerfile(compose: dict[str, Any], repo: Path, info: ServiceInfo) -> None:
    svc = compose["services"][info.name]
    assert svc["build"] == {"context": ".", "dockerfile": f"services/{info.name}/Dockerfile"}
    assert svc["image"].startswith(f"pfms/{info.name}:")
    text = dockerfile(repo, info)
    assert f"EXPOSE {info.port}" in text
    assert "HEALTHCHECK" in text and f"127.0.0.1:{info.port}/health" in text
    assert f'CMD ["pfms-{info.name}", "serve"]' in text
    assert "USER 10001" in text, "the image must not run as root"
    assert svc["expose"] == [str(info.port)]


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_environment_uses_its_prefix_and_names_real_settings(
    compose: dict[str, Any], info: ServiceInfo
) -> None:
    env: dict[str, str] = compose["services"][info.name]["environment"]
    assert all(key.startswith(info.env_prefix) for key in env), f"{info.name}: every variable needs {info.env_prefix}"
    settings = {key.removeprefix(info.env_prefix).lower() for key in env}
    fields = set(importlib.import_module(f"{info.package}.settings").Settings.model_fields)
    assert settings <= fields, f"{info.name} reads no setting named {sorted(settings - fields)}"
    assert REQUIRED_SETTINGS | STORE_SETTINGS[info.store] <= settings
    assert env[f"{info.env_prefix}JWKS_URL"] == "http://auth:3001/.well-known/jwks.json"
    assert "@rabbitmq:5672/" in env[f"{info.env_prefix}AMQP_URL"]
    assert env[f"{info.env_prefix}REDIS_URL"].startswith("redis://redis:6379/")
    if info.store == "postgres":
        assert re.fullmatch(
            rf"postgresql\+asyncpg://\S+@postgres:5432/{info.database}", env[f"{info.env_prefix}DATABASE_URL"]
        )
    else:
        assert env[f"{info.env_prefix}MONGO_URL"].startswith("mongodb://mongo:27017")
        assert env[f"{info.env_prefix}MONGO_DATABASE"] == info.database
    if info.name == "auth":
        assert "PFMS_AUTH_KEY_ENCRYPTION_KEY" in env


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_waits_for_healthy_infrastructure_and_its_migration(compose: dict[str, Any], info: ServiceInfo) -> None:
    depends = compose["services"][info.name]["depends_on"]
    for infra in INFRA[info.store]:
        assert depends[infra] == {"condition": "service_healthy"}, f"{info.name} must wait for a healthy {infra}"
    if info.store == "postgres":
        assert depends[f"{info.name}-migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("info", POSTGRES, ids=ids(POSTGRES))
def test_migration_runs_the_service_image_once(compose: dict[str, Any], info: ServiceInfo) -> None:
    svc, job = compose["services"][info.name], compose["services"][f"{info.name}-migrate"]
    assert job["command"] == [f"pfms-{info.name}", "migrate"]
    assert job["build"] == svc["build"] and job["image"] == svc["image"]
    assert job["environment"] == svc["environment"], "migrate builds the same Settings, so it needs the same env"
    assert job["restart"] == "no"
    assert job["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_everything_waited_on_as_healthy_has_a_healthcheck(compose: dict[str, Any], repo: Path) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for dep, condition in svc.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if condition["condition"] != "service_healthy":
                continue
            target = services[dep]
            built = target.get("build", {}).get("dockerfile")
            has_check = "test" in target.get("healthcheck", {}) or (
                built and "HEALTHCHECK" in (repo / built).read_text()
            )
            assert has_check, f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck"


@pytest.mark.parametrize(
    "infra", ["postgres", "rabbitmq", "redis", "mongo", "minio", "mailpit", "prometheus", "grafana", "kong"]
)
def test_infrastructure_has_a_pinned_major_and_a_healthcheck(compose: dict[str, Any], infra: str) -> None:
    svc = compose["services"][infra]
    assert svc["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert svc["restart"] == "unless-stopped"


def test_images_are_the_ones_the_fleet_is_built_for(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert re.fullmatch(r"postgres:1[56]", services["postgres"]["image"])
    assert services["rabbitmq"]["image"] == "rabbitmq:3-management"
    assert services["redis"]["image"] == "redis:7"
    assert services["mongo"]["image"] == "mongo:7"
    assert re.fullmatch(r"kong:3(\.\d+)*", services["kong"]["image"])
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_kong_is_db_less_and_reads_the_config_rendered_from_auths_jwks(compose: dict[str, Any]) -> None:
    kong, init = compose["services"]["kong"], compose["services"]["kong-config"]
    env = kong["environment"]
    assert env["KONG_DATABASE"] == "off"
    assert env["KONG_STATUS_LISTEN"].endswith(":8100")
    assert env["KONG_PROXY_LISTEN"].endswith(":8000")
    assert kong["ports"] == ["3000:8000"]
    assert kong["depends_on"] == {"kong-config": {"condition": "service_completed_successfully"}}
    out = init["command"][init["command"].index("--out") + 1]
    assert out == env["KONG_DECLARATIVE_CONFIG"]
    assert init["command"][:3] == ["python", "-m", "pfms_gateway.render"]
    assert init["command"][init["command"].index("--jwks") + 1] == "http://auth:3001/.well-known/jwks.json"
    assert init["depends_on"] == {"auth": {"condition": "service_healthy"}}
    volume = Path(out).parent.as_posix()
    assert f"kong-config:{volume}" in init["volumes"] and f"kong-config:{volume}:ro" in kong["volumes"]
    assert "COPY gateway gateway" in init["build"]["dockerfile_inline"]


def test_gateway_routes_to_the_compose_hostnames(repo: Path) -> None:
    kong_yml = repo / "gateway" / "kong.yml"
    if not kong_yml.exists():
        pytest.skip("gateway/kong.yml not there yet")
    urls = {s["name"]: s["url"] for s in yaml.safe_load(kong_yml.read_text())["services"]}
    for info in SERVICES:
        assert urls.get(info.name) == f"http://{info.name}:{info.port}", f"kong.yml must reach {info.name} by name"


def test_bind_mounted_files_exist(compose: dict[str, Any], repo: Path) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (repo / source).exists(), f"{name} mounts missing {source}"


def test_rabbitmq_loads_the_generated_definitions_and_a_users_file(compose: dict[str, Any]) -> None:
    rabbit = compose["services"]["rabbitmq"]
    assert "./deploy/rabbitmq/definitions.json:/etc/rabbitmq/definitions.d/topology.json:ro" in rabbit["volumes"]
    assert "./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/rabbitmq.conf:ro" in rabbit["volumes"]
    assert rabbit["configs"] == [{"source": "rabbitmq-users", "target": "/etc/rabbitmq/definitions.d/users.json"}]
    users = json.loads(compose["configs"]["rabbitmq-users"]["content"])
    assert users["users"][0]["name"] == "${RABBITMQ_USER}"
    assert users["permissions"][0]["vhost"] == "/"


def test_postgres_init_creates_every_service_database(compose: dict[str, Any], repo: Path) -> None:
    assert "./deploy/postgres/init:/docker-entrypoint-initdb.d:ro" in compose["services"]["postgres"]["volumes"]
    sql = "\n".join(p.read_text() for p in sorted((repo / "deploy/postgres/init").glob("*.sql")))
    created = set(re.findall(r"^CREATE DATABASE (\w+);", sql, re.M))
    assert created == {s.database for s in POSTGRES}


def test_every_variable_without_a_default_is_documented_in_env_example(repo: Path) -> None:
    text = (repo / "compose.yaml").read_text()
    needed = {m.group(1) for m in VARIABLE.finditer(text) if not (m.group(2) or "").startswith((":-", "-"))}
    example = repo / ".env.example"
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example.read_text(), re.M))
    assert needed <= documented, f"add to .env.example: {sorted(needed - documented)}"
    secrets = {k for k in documented if k.endswith(("_PASSWORD", "_SECRET", "_KEY"))}
    values = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", example.read_text(), re.M))
    assert all(values[k] == "" for k in secrets), "never commit secret values: leave them blank in .env.example"


def test_compose_validates_against_the_compose_spec(repo: Path, uvx_tool: Any) -> None:
    done = uvx_tool(
        "check-jsonschema==0.39.0",
        "check-jsonschema",
        "--builtin-schema",
        "vendor.compose-spec",
        str(repo / "compose.yaml"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
