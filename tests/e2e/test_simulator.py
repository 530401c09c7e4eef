"""kurator sim as a user runs it: kubectl against the kubeconfig it writes; kurator up wires it in."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .conftest import BIN, REPO, Stack, free_port_run

CRDS = REPO.parent / "shared" / "crds"
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25", resources: {requests: {cpu: 100m, memory: 128Mi}}}]
"""

BAD_JOB = """
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: bad}
spec:
  minAvailable: -1
  tasks: [{name: t, replicas: 1, template: {spec: {containers: [{name: c, image: x}]}}}]
"""


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def until(check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Path]:
    """``kurator sim --kubeconfig F`` on a free port, ten times faster than real time."""
    port = free_port_run(1)
    kubeconfig = tmp_path / "kubeconfig"
    args = [str(BIN / "kurator"), "sim", "--port", str(port), "--kubeconfig", str(kubeconfig), "--time-scale", "10"]
    if CRDS.is_dir():
        args += ["--crds", str(CRDS)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        until(kubeconfig.exists, timeout=60)
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(20)


def test_kubectl_against_kurator_sim(sim: Path) -> None:
    """get clusters, api-resources, apply the seed policy; the Duplicated Deployment is ready in 3 members."""
    until(lambda: kubectl(sim, "get", "clusters").stdout.count("True") == 6)
    resources = kubectl(sim, "api-resources")
    assert resources.returncode == 0, resources.stderr
    assert "propagationpolicies" in resources.stdout
    assert "resourcebindings" in resources.stdout
    assert kubectl(sim, "apply", "-f", "-", stdin=DEPLOYMENT).returncode == 0
    applied = kubectl(sim, "apply", "-f", str(REPO / "examples" / "01-propagationpolicy-nginx.yaml"))
    assert applied.returncode == 0, applied.stderr
    assert "propagationpolicy.policy.karmada.io/nginx-propagation created" in applied.stdout

    def ready_in(cluster: str) -> bool:
        got = kubectl(sim, "--context", cluster, "get", "deploy", "nginx", "-o", "json")
        if got.returncode != 0:
            return False
        return bool(json.loads(got.stdout).get("status", {}).get("readyReplicas") == 2)

    for cluster in ("cluster-beijing", "cluster-shanghai", "cluster-guangzhou"):
        until(lambda c=cluster: ready_in(c))
    assert kubectl(sim, "--context", "cluster-hangzhou", "get", "deploy", "nginx").returncode == 1
    binding = yaml.safe_load(kubectl(sim, "get", "rb", "nginx-deployment", "-o", "yaml").stdout)
    assert sorted(c["name"] for c in binding["spec"]["clusters"]) == [
        "cluster-beijing",
        "cluster-guangzhou",
        "cluster-shanghai",
    ]


@pytest.mark.skipif(not CRDS.is_dir(), reason="../shared/crds is not present")
def test_invalid_volcano_job_is_refused_naming_the_field(sim: Path) -> None:
    refused = kubectl(sim, "--context", "cluster-guangzhou", "apply", "-f", "-", stdin=BAD_JOB)
    assert refused.returncode == 1
    assert 'The Job "bad" is invalid' in refused.stderr
    assert "spec.minAvailable" in refused.stderr


def test_kurator_up_points_services_at_the_simulator(stack: Stack) -> None:
    """kurator up starts the simulator and every service reports Kubernetes reachable."""
    kubeconfig = stack.data_dir / "kubeconfig"
    assert kubeconfig.exists()
    logs = (stack.data_dir / "logs" / "fleet-0.log").read_text()
    assert "kubernetes.kubeconfig_missing" not in logs
    until(lambda: "True" in kubectl(kubeconfig, "get", "clusters").stdout)
