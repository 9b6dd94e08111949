"""deploy/k8s: generated from the catalogue and current, every service probed and non-root, overlays render."""

import importlib
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from pfms_platform.catalogue import SERVICES, ServiceInfo

K8S = Path(__file__).resolve().parents[1] / "k8s"
POSTGRES = [s for s in SERVICES if s.store == "postgres"]
REFERENCE = re.compile(r"\$\(([A-Za-z0-9_]+)\)")


def ids(services: list[ServiceInfo]) -> list[str]:
    return [s.name for s in services]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pfms_k8s_generate", K8S / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def manifests(info: ServiceInfo) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents(K8S / "base/services" / f"{info.name}.yaml")}


def env_file_keys(path: Path) -> set[str]:
    return set(re.findall(r"^([A-Z0-9_]+)=", path.read_text(), re.M))


def test_generated_files_are_current() -> None:
    stale = [
        rel
        for rel, text in load_generator().render().items()
        if not (K8S / rel).exists() or (K8S / rel).read_text() != text
    ]
    assert not stale, f"stale: {stale}; run `uv run python deploy/k8s/generate.py`"


def test_every_yaml_document_parses_and_is_named() -> None:
    files = sorted({*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")})
    assert files
    for path in files:
        for doc in documents(path):
            if path.name == "kong.yml":  # Kong's declarative config, not a Kubernetes object
                assert doc["_format_version"].startswith("3.")
                continue
            assert doc.get("apiVersion") and doc.get("kind"), f"{path}: a document without apiVersion/kind"
            if doc["kind"] not in ("Kustomization", "Component"):
                assert doc.get("metadata", {}).get("name"), f"{path}: a {doc['kind']} without metadata.name"


def test_kustomizations_only_name_files_that_exist() -> None:
    for path in K8S.rglob("kustomization.yaml"):
        k = yaml.safe_load(path.read_text())
        named = [
            *k.get("resources", []),
            *k.get("components", []),
            *(p["path"] for p in k.get("patches", []) if "path" in p),
        ]
        for generator in [*k.get("configMapGenerator", []), *k.get("secretGenerator", [])]:
            named += [f.split("=")[-1] for f in generator.get("files", [])]
        for name in named:
            assert (path.parent / name).exists(), f"{path.relative_to(K8S)} names missing {name}"


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_deployment_is_probed_non_root_and_read_only(info: ServiceInfo) -> None:
    deployment = manifests(info)["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"pfms/{info.name}:dev"
    assert container["ports"] == [{"name": "http", "containerPort": info.port}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile = (Path(__file__).resolve().parents[2] / "services" / info.name / "Dockerfile").read_text()
    assert f"USER {pod['securityContext']['runAsUser']}" in dockerfile
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_is_reachable_by_name_on_its_catalogue_port(info: ServiceInfo) -> None:
    service = manifests(info)["Service"]
    assert service["metadata"]["name"] == info.name  # gateway/kong.yml and JWKS_URL address services by name
    assert service["spec"]["ports"] == [{"name": "http", "port": info.port, "targetPort": "http"}]
    assert service["spec"]["selector"] == manifests(info)["Deployment"]["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_environment_names_real_settings_and_resolves(info: ServiceInfo) -> None:
    (container,) = manifests(info)["Deployment"]["spec"]["template"]["spec"]["containers"]
    config = yaml.safe_load((K8S / "base/config.yaml").read_text())["data"]
    secrets = env_file_keys(K8S / "overlays/dev/secrets.env.example")
    assert container["envFrom"] == [{"configMapRef": {"name": "pfms-config"}}]
    defined = set(config)
    for var in container["env"]:
        for ref in REFERENCE.findall(var.get("value", "")):
            assert ref in defined, f"{info.name}: {var['name']} uses $({ref}) before it is defined"
        if "valueFrom" in var:
            assert var["valueFrom"]["secretKeyRef"]["key"] in secrets, f"{var['name']}: key not in secrets.env.example"
        defined.add(var["name"])
    prefixed = {
        v["name"].removeprefix(info.env_prefix).lower()
        for v in container["env"]
        if v["name"].startswith(info.env_prefix)
    }
    fields = set(importlib.import_module(f"{info.package}.settings").Settings.model_fields)
    assert prefixed <= fields, f"{info.name} reads no setting named {sorted(prefixed - fields)}"
    store = {"database_url"} if info.store == "postgres" else {"mongo_url", "mongo_database"}
    assert {"amqp_url", "redis_url", "jwks_url", "service_token_secret", *store} <= prefixed


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_service_has_an_autoscaler_and_a_disruption_budget_on_its_deployment(info: ServiceInfo) -> None:
    docs = manifests(info)
    deployment, hpa, pdb = docs["Deployment"], docs["HorizontalPodAutoscaler"], docs["PodDisruptionBudget"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": info.name}
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["maxUnavailable"] == 1  # never minAvailable: a single dev replica must not block a drain


@pytest.mark.parametrize("info", SERVICES, ids=ids(SERVICES))
def test_postgres_services_have_a_migration_job(info: ServiceInfo) -> None:
    docs = manifests(info)
    if info.store != "postgres":
        assert "Job" not in docs
        return
    job, deployment = docs["Job"], docs["Deployment"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (served,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [f"pfms-{info.name}", "migrate"]
    assert container["image"] == served["image"] and container["env"] == served["env"]
    assert pod["restartPolicy"] == "OnFailure" and pod["securityContext"]["runAsNonRoot"] is True
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


def test_kong_is_db_less_with_the_rendered_gateway_config() -> None:
    deployment, service = documents(K8S / "base/gateway/kong.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (kong,) = pod["containers"]
    env = {e["name"]: e["value"] for e in kong["env"]}
    assert env["KONG_DATABASE"] == "off" and env["KONG_STATUS_LISTEN"].endswith(":8100")
    assert init["command"][:3] == ["python", "-m", "pfms_gateway.render"]
    assert init["command"][init["command"].index("--jwks") + 1] == "http://auth:3001/.well-known/jwks.json"
    assert init["command"][init["command"].index("--out") + 1] == env["KONG_DECLARATIVE_CONFIG"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["declarative"]["configMap"]["name"] == "kong-declarative"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert kong["securityContext"]["readOnlyRootFilesystem"] is True
    assert kong["readinessProbe"]["httpGet"]["port"] == "status"
    assert {p["port"] for p in service["spec"]["ports"]} == {3000, 8100}
    base = yaml.safe_load((K8S / "base/kustomization.yaml").read_text())
    generators = {g["name"]: g["files"] for g in base["configMapGenerator"]}
    assert generators["kong-declarative"] == ["gateway/kong.yml"]
    assert generators["rabbitmq-definitions"] == ["rabbitmq/definitions.json"]


def test_k8s_rabbitmq_gets_the_same_users_file_as_compose(compose: dict[str, Any], tmp_path: Path) -> None:
    statefulset = next(d for d in documents(K8S / "components/infra/rabbitmq.yaml") if d["kind"] == "StatefulSet")
    (init,) = statefulset["spec"]["template"]["spec"]["initContainers"]
    (tmp_path / "topology").mkdir()
    (tmp_path / "definitions.d").mkdir()
    (tmp_path / "topology/definitions.json").write_text("{}")
    script = (
        init["command"][2]
        .replace("/topology/", f"{tmp_path}/topology/")
        .replace("/definitions.d/", f"{tmp_path}/definitions.d/")
    )
    subprocess.run(["sh", "-c", script], env={"RABBITMQ_USER": "u1", "RABBITMQ_PASSWORD": "p1"}, check=True)
    written = json.loads((tmp_path / "definitions.d/users.json").read_text())
    content = compose["configs"]["rabbitmq-users"]["content"]
    assert written == json.loads(content.replace("${RABBITMQ_USER}", "u1").replace("${RABBITMQ_PASSWORD}", "p1"))


def test_secrets_are_never_committed() -> None:
    example = K8S / "overlays/dev/secrets.env.example"
    values = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", example.read_text(), re.M))
    assert all(v == "" for k, v in values.items() if k.endswith(("PASSWORD", "SECRET", "KEY")))
    assert "overlays/*/secrets.env" in (K8S / ".gitignore").read_text().splitlines()


# --- rendering with Kustomize (kubectl's built-in), then schema validation -----------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree)
    example = (tree / "overlays/dev/secrets.env.example").read_text()
    (tree / "overlays/dev/secrets.env").write_text(re.sub(r"=$", "=0123456789abcdef", example, flags=re.M))
    out: dict[str, list[dict[str, Any]]] = {}
    for overlay in ("dev", "prod"):
        done = subprocess.run(
            [kubectl, "kustomize", str(tree / "overlays" / overlay)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        (tree / f"{overlay}.yaml").write_text(done.stdout)
        out[overlay] = [d for d in yaml.safe_load_all(done.stdout) if d]
    out["_files"] = [{"path": str(tree / f"{o}.yaml")} for o in ("dev", "prod")]
    return out


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_renders_every_service_in_its_namespace(rendered: dict[str, Any], overlay: str) -> None:
    docs = rendered[overlay]
    namespace = {"dev": "pfms-dev", "prod": "pfms"}[overlay]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for info in SERVICES:
        assert {("Deployment", info.name), ("Service", info.name)} <= kinds
        assert (("Job", f"{info.name}-migrate") in kinds) == (info.store == "postgres")
    assert {("Deployment", "kong"), ("Service", "kong")} <= kinds
    assert all(d["metadata"].get("namespace") == namespace for d in docs if d["kind"] != "Namespace")
    names = {s.name for s in SERVICES}
    services = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] in names]
    assert all("replicas" not in d["spec"] for d in services), "the autoscaler owns a service's replicas"


@pytest.mark.parametrize(("overlay", "least"), [("dev", 1), ("prod", 2)])
def test_every_service_is_autoscaled_and_keeps_serving_through_a_drain(
    rendered: dict[str, Any], overlay: str, least: int
) -> None:
    """An HPA on CPU scales each service's Deployment (prod never below two), and its disruption
    budget selects exactly that Deployment's pods and, in prod, leaves one serving while a node drains."""
    docs = rendered[overlay]
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    for info in SERVICES:
        deployment = by_kind["Deployment"][info.name]
        hpa = by_kind["HorizontalPodAutoscaler"].get(info.name)
        pdb = by_kind["PodDisruptionBudget"].get(info.name)
        assert hpa and pdb, f"{info.name}: no autoscaler or disruption budget in {overlay}"
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": info.name}
        assert hpa["spec"]["minReplicas"] == least < hpa["spec"]["maxReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["requests"]["cpu"], "CPU utilisation is measured against the request"
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert selector == deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        others = [d for d in by_kind["Deployment"].values() if d is not deployment]
        assert not any(selector.items() <= d["spec"]["template"]["metadata"]["labels"].items() for d in others)
        assert "minAvailable" not in pdb["spec"]
        if overlay == "prod":
            assert hpa["spec"]["minReplicas"] - pdb["spec"]["maxUnavailable"] >= 1, f"{info.name}: a drain stops it"
    assert set(by_kind["HorizontalPodAutoscaler"]) == set(by_kind["PodDisruptionBudget"]) == {s.name for s in SERVICES}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_config_map_and_secret_reference_resolves(rendered: dict[str, Any], overlay: str) -> None:
    docs = rendered[overlay]
    have = {(d["kind"], d["metadata"]["name"]) for d in docs}
    external = {("Secret", "pfms-secrets")} if overlay == "prod" else set()  # created out of band in prod
    wanted: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("configMapRef", "configMapKeyRef", "configMap"):
                    wanted.add(("ConfigMap", value["name"]))
                elif key in ("secretRef", "secretKeyRef"):
                    wanted.add(("Secret", value["name"]))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(docs)
    assert wanted - have <= external, f"unresolved: {sorted(wanted - have - external)}"
    if overlay == "dev":
        assert {("StatefulSet", "postgres"), ("StatefulSet", "rabbitmq")} <= have


def test_rendered_manifests_validate_against_the_kubernetes_schemas(rendered: dict[str, Any], uvx_tool: Any) -> None:
    files = [f["path"] for f in rendered["_files"]]
    done = uvx_tool("kubernetes-validate==1.37.0", "kubernetes-validate", "--strict", "--quiet", "-k", "1.30.0", *files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_plain_manifests_validate_without_kustomize(uvx_tool: Any) -> None:
    """Where kubectl is missing, the generated and hand-written objects are still checked against the schemas."""
    files = [str(p) for p in sorted(K8S.rglob("*.yaml")) if p.name != "kustomization.yaml"]
    done = uvx_tool("kubernetes-validate==1.37.0", "kubernetes-validate", "--strict", "--quiet", "-k", "1.30.0", *files)
    assert done.returncode == 0, done.stdout + done.stderr
