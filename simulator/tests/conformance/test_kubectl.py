"""Fidelity through the real kubectl, run as a subprocess against the simulator: the oldest
and newest binaries this machine has (1.27 uses legacy discovery and downloads OpenAPI v2
before applying; >= 1.30 use aggregated discovery), plus the default ``kubectl``.

One simulator serves the whole module (in a background thread); each kubectl version works
in its own namespace with its own discovery cache, so the versions do not see each other.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kurator_sim import testing
from kurator_sim.fleet import Fleet

GCLOUD_BIN = Path("/usr/lib/google-cloud-sdk/bin")
CANDIDATES = {
    "1.27": GCLOUD_BIN / "kubectl.1.27",
    "1.33": GCLOUD_BIN / "kubectl.1.33",
    "default": Path(shutil.which("kubectl") or "/nonexistent/kubectl"),
}
BINARIES = {name: path for name, path in CANDIDATES.items() if path.is_file()}
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
HAVE_CRDS = testing.SHARED_CRDS.is_dir()

pytestmark = pytest.mark.skipif(not BINARIES, reason="no kubectl binary on this machine")

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  labels: {app: nginx}
spec:
  replicas: 2
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
"""
INVALID_JOB = """apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata:
  name: invalid
spec:
  minAvailable: "three"
  tasks:
  - name: ps
    replicas: 1
    template:
      spec:
        containers: [{name: c, image: busybox}]
"""


@dataclass
class Kubectl:
    binary: Path
    kubeconfig: Path
    cache: Path
    namespace: str

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None, ns: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.binary), "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache)]
        if ns:
            cmd += ["-n", self.namespace]
        result = subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        cmd = [str(self.binary), "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache)]
        return subprocess.Popen(
            [*cmd, "-n", self.namespace, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


@dataclass
class Env:
    sim: testing.RunningSim
    thread: testing.SimThread
    root: Path


def _seed_clusters(fleet: Fleet) -> None:
    """Cluster objects as Karmada's cluster controller keeps them (that controller is separate)."""
    store = fleet.host
    rt = store.registry.by_key(("cluster.karmada.io", "clusters"))
    for name, member in fleet.members.items():
        if store.find(rt, None, name) is not None:
            continue
        store.create(rt, None, {"metadata": {"name": name}, "spec": {"syncMode": member.spec.sync_mode}})
        store.update(
            rt,
            None,
            name,
            {
                "metadata": {"name": name},
                "status": {
                    "kubernetesVersion": member.spec.kubernetes_version,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "ClusterReady"}],
                },
            },
            subresource="status",
        )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("kubectl")
    thread = testing.SimThread(crd_dir=testing.SHARED_CRDS if HAVE_CRDS else None)
    with thread as sim:
        thread.call(_seed_clusters)
        yield Env(sim, thread, root)


@pytest.fixture(params=sorted(BINARIES), scope="module")
def kubectl(request: pytest.FixtureRequest, env: Env) -> Kubectl:
    version = str(request.param)
    namespace = "kubectl-" + re.sub(r"[^a-z0-9]", "", version)
    config = env.sim.write_kubeconfig(env.root / f"config-{version}")
    tool = Kubectl(BINARIES[version], config, env.root / f"cache-{version}", namespace)
    tool.run("create", "namespace", namespace, ns=False)
    return tool


@pytest.fixture(scope="module")
def manifests(env: Env) -> Path:
    folder = env.root / "manifests"
    folder.mkdir(exist_ok=True)
    (folder / "deployment.yaml").write_text(DEPLOYMENT)
    (folder / "invalid-job.yaml").write_text(INVALID_JOB)
    return folder


def test_api_resources(kubectl: Kubectl) -> None:
    out = kubectl.run("api-resources", ns=False).stdout
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "propagationpolicies" in lines
    assert "pp" in lines["propagationpolicies"].split()
    assert "policy.karmada.io/v1alpha1" in lines["propagationpolicies"]
    assert "clusters" in lines
    assert "deployments" in lines


def test_get_clusters(kubectl: Kubectl) -> None:
    out = kubectl.run("get", "clusters", ns=False).stdout.splitlines()
    assert out[0].split() == ["NAME", "VERSION", "MODE", "READY", "AGE"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["cluster-beijing"][1:4] == ["v1.29.3", "Push", "True"]


def test_apply_client_side_then_server_side(kubectl: Kubectl, manifests: Path) -> None:
    policy = str(EXAMPLES / "01-propagationpolicy-nginx.yaml")
    assert "propagationpolicy.policy.karmada.io/nginx-propagation created" in kubectl.run("apply", "-f", policy).stdout
    assert "unchanged" in kubectl.run("apply", "-f", policy).stdout
    deployment = str(manifests / "deployment.yaml")
    assert "deployment.apps/nginx created" in kubectl.run("apply", "-f", deployment).stdout
    assert "deployment.apps/nginx unchanged" in kubectl.run("apply", "-f", deployment).stdout
    # Taking over from client-side apply: kubectl's own manager upgrades cleanly.
    ssa = kubectl.run("apply", "--server-side", "-f", deployment).stdout
    assert "deployment.apps/nginx serverside-applied" in ssa
    assert "serverside-applied" in kubectl.run("apply", "--server-side", "-f", policy).stdout
    managed = yaml.safe_load(kubectl.run("get", "deploy", "nginx", "-o", "yaml", "--show-managed-fields").stdout)
    managers = {(m["manager"], m["operation"]) for m in managed["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers


def test_server_side_apply_conflict_is_reported(kubectl: Kubectl, manifests: Path) -> None:
    changed = DEPLOYMENT.replace("replicas: 2", "replicas: 4").replace("name: nginx\n  labels", "name: web\n  labels")
    (manifests / f"web-{kubectl.namespace}.yaml").write_text(changed)
    kubectl.run(
        "apply", "--server-side", "--field-manager=first", "-f", str(manifests / f"web-{kubectl.namespace}.yaml")
    )
    other = changed.replace("replicas: 4", "replicas: 6")
    result = kubectl.run("apply", "--server-side", "--field-manager=second", "-f", "-", stdin=other, check=False)
    assert result.returncode == 1
    assert "conflict" in result.stderr.lower()
    assert ".spec.replicas" in result.stderr
    forced = kubectl.run(
        "apply", "--server-side", "--field-manager=second", "--force-conflicts", "-f", "-", stdin=other
    )
    assert "serverside-applied" in forced.stdout


def test_get_yaml_label_patch_delete(kubectl: Kubectl, manifests: Path) -> None:
    kubectl.run("apply", "-f", str(manifests / "deployment.yaml"))
    kubectl.run("apply", "-f", str(EXAMPLES / "01-propagationpolicy-nginx.yaml"))

    obj: dict[str, Any] = yaml.safe_load(
        kubectl.run("get", "propagationpolicy", "nginx-propagation", "-o", "yaml").stdout
    )
    assert obj["kind"] == "PropagationPolicy"
    assert obj["metadata"]["namespace"] == kubectl.namespace
    assert obj["spec"]["placement"]["replicaScheduling"]["replicaSchedulingType"] == "Duplicated"

    assert "labeled" in kubectl.run("label", "pp", "nginx-propagation", "team=web").stdout
    labels = kubectl.run("get", "pp", "nginx-propagation", "-o", "jsonpath={.metadata.labels.team}").stdout
    assert labels == "web"
    assert "nginx-propagation" in kubectl.run("get", "pp", "-l", "team=web").stdout

    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}'
    assert "patched" in kubectl.run("patch", "deployment", "nginx", "-p", patch).stdout
    image = kubectl.run("get", "deploy", "nginx", "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert image == "nginx:1.26"
    ports = kubectl.run(
        "get", "deploy", "nginx", "-o", "jsonpath={.spec.template.spec.containers[0].ports[0].containerPort}"
    )
    assert ports.stdout == "80"  # strategic merge kept the rest of the container

    kubectl.run("patch", "pp", "nginx-propagation", "--type=merge", "-p", '{"spec":{"priority":3}}')
    kubectl.run(
        "patch", "pp", "nginx-propagation", "--type=json", "-p", '[{"op":"replace","path":"/spec/priority","value":4}]'
    )
    assert kubectl.run("get", "pp", "nginx-propagation", "-o", "jsonpath={.spec.priority}").stdout == "4"
    # Strategic merge patches are for built-in kinds only, as with any apiserver.
    refused = kubectl.run("patch", "pp", "nginx-propagation", "-p", '{"spec":{"priority":5}}', check=False)
    assert refused.returncode == 1
    assert "application/strategic-merge-patch+json" in refused.stderr

    assert (
        'propagationpolicy.policy.karmada.io "nginx-propagation" deleted'
        in kubectl.run("delete", "pp", "nginx-propagation").stdout
    )
    assert 'deployment.apps "nginx" deleted' in kubectl.run("delete", "-f", str(manifests / "deployment.yaml")).stdout


def test_not_found_is_printed_like_the_apiserver(kubectl: Kubectl) -> None:
    result = kubectl.run("get", "clusters", "nope", check=False, ns=False)
    assert result.returncode == 1
    assert 'Error from server (NotFound): clusters.cluster.karmada.io "nope" not found' in result.stderr
    missing = kubectl.run("get", "deploy", "ghost", check=False)
    assert 'Error from server (NotFound): deployments.apps "ghost" not found' in missing.stderr


def test_get_watch_prints_changes(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "watched", "--from-literal=a=1")
    proc = kubectl.popen("get", "configmaps", "--watch")
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        assert header.split()[:2] == ["NAME", "DATA"]
        first = proc.stdout.readline()
        assert first.split()[0] in ("kube-root-ca.crt", "watched")
        time.sleep(0.3)
        kubectl.run("create", "configmap", "new-one", "--from-literal=a=1", "--from-literal=b=2")
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("new-one"):
                break
        assert line.split()[:2] == ["new-one", "2"]
    finally:
        proc.kill()
        proc.communicate(timeout=10)


@pytest.mark.skipif(not HAVE_CRDS, reason="../shared/crds is not present")
def test_explain_a_volcano_job_field(kubectl: Kubectl) -> None:
    out = kubectl.run("explain", "jobs.batch.volcano.sh.spec.minAvailable", ns=False).stdout
    assert "KIND:" in out
    assert "Job" in out
    assert "minAvailable" in out
    assert "<integer>" in out
    deployment = kubectl.run("explain", "deployment.spec.replicas", ns=False).stdout
    assert "replicas" in deployment


@pytest.mark.skipif(not HAVE_CRDS, reason="../shared/crds is not present")
def test_invalid_volcano_job_is_refused(kubectl: Kubectl, manifests: Path) -> None:
    for verb in (("apply",), ("create",), ("apply", "--server-side")):
        result = kubectl.run(*verb, "-f", str(manifests / "invalid-job.yaml"), check=False)
        assert result.returncode == 1, verb
        assert "is invalid" in result.stderr, verb
        assert "spec.minAvailable" in result.stderr, verb


@pytest.mark.skipif(not HAVE_CRDS, reason="../shared/crds is not present")
def test_unknown_fields_are_refused_by_strict_validation(kubectl: Kubectl) -> None:
    job = INVALID_JOB.replace('minAvailable: "three"', "minAvailable: 1\n  foo: bar").replace("invalid", "unknown")
    result = kubectl.run("create", "-f", "-", stdin=job, check=False)
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.foo"' in result.stderr
    warned = kubectl.run("create", "--validate=warn", "-f", "-", stdin=job)
    assert 'unknown field "spec.foo"' in warned.stderr
    assert "job.batch.volcano.sh/unknown created" in warned.stdout


def test_member_through_the_cluster_proxy(kubectl: Kubectl, env: Env) -> None:
    config = env.sim.write_kubeconfig(env.root / f"member-{kubectl.namespace}", cluster="cluster-beijing")
    member = Kubectl(kubectl.binary, config, kubectl.cache.with_name(kubectl.cache.name + "-member"), "default")
    nodes = member.run("get", "nodes", ns=False).stdout.splitlines()
    assert nodes[0].split()[:3] == ["NAME", "STATUS", "ROLES"]
    assert all(line.startswith("cluster-beijing-node-") for line in nodes[1:])
    namespaces = {line.split()[0] for line in member.run("get", "ns", ns=False).stdout.splitlines()[1:]}
    assert {"default", "kube-system", "velero"} <= namespaces
    assert "karmada-system" not in namespaces
    created = member.run("create", "configmap", f"via-proxy-{kubectl.namespace}")
    assert "created" in created.stdout
    unknown = member.run("get", "propagationpolicies", check=False)
    assert unknown.returncode == 1


def test_typed_create_commands(kubectl: Kubectl) -> None:
    # kubectl >= 1.33 sends these as protobuf.
    kubectl.run("create", "configmap", "typed", "--from-literal=a=1")
    kubectl.run("create", "secret", "generic", "typed", "--from-literal=k=v")
    kubectl.run("create", "deployment", "typed", "--image=nginx:1.25", "--replicas=2", "--port=80")
    kubectl.run("create", "service", "clusterip", "typed", "--tcp=80:8080")
    kubectl.run("create", "serviceaccount", "typed")
    secret = yaml.safe_load(kubectl.run("get", "secret", "typed", "-o", "yaml").stdout)
    assert secret["data"] == {"k": "dg=="}
    deploy = yaml.safe_load(kubectl.run("get", "deploy", "typed", "-o", "yaml").stdout)
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    service = yaml.safe_load(kubectl.run("get", "svc", "typed", "-o", "yaml").stdout)
    assert service["spec"]["ports"][0]["targetPort"] == 8080
    assert "scaled" in kubectl.run("scale", "deploy", "typed", "--replicas=3").stdout
    assert kubectl.run("get", "deploy", "typed", "-o", "jsonpath={.spec.replicas}").stdout == "3"
