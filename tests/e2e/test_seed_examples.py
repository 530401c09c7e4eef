"""The user's path: kurator up, apply every seed example, get and watch them, bad input rejected."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import yaml

from shared.contracts import kinds

from .conftest import BIN, REPO, Stack

EXAMPLES = REPO / "examples"


def seed_documents() -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


# What ``kurator apply`` answers for each seed kind (by kind token) on a stack running on the
# simulator, and the phases ``kurator get`` may then show. Kinds whose service writes them to
# Kubernetes answer Applied (or their own first phase) and move on; the others record desired
# state only: Accepted.
APPLY_RESULT: dict[str, str] = {
    "propagationpolicy": "Applied",
    "clusterpropagationpolicy": "Applied",
    "deployment": "Applied",
    "volcanojob": "Pending",
    "federateddeployment": "Progressing",
    "virtualservice": "Applied",
}
PHASES: dict[str, set[str]] = {
    "propagationpolicy": {"Applied"},
    "clusterpropagationpolicy": {"Applied"},
    "deployment": {"Applied", "Progressing", "Available"},
    "volcanojob": {"Pending", "Inqueue", "Running", "Completed"},
    "federateddeployment": {"Progressing", "Available"},
    "virtualservice": {"Applied"},
}
# Objects a seed document makes another service show as well (by kind token): the
# FederatedDeployment's Deployment, as the fleet service reports Karmada's template.
DERIVED: dict[str, set[str]] = {"deployment": {"frontend-app"}}


def test_every_seed_example_is_accepted_listed_and_watched(stack: Stack) -> None:
    """kurator apply -f examples/ accepts all 11 seed documents; get lists each; watch shows them."""
    docs = seed_documents()
    assert len(docs) == 11
    applied = stack.kurator("apply", "-f", "examples/")
    assert applied.returncode == 0, applied.stderr
    lines = applied.stdout.strip().splitlines()
    assert len(lines) == len(docs)
    answered = {line.split(" ")[0]: line for line in lines}
    for doc in docs:
        info = kinds.for_object(str(doc["apiVersion"]), str(doc["kind"]))
        want = f"created ({APPLY_RESULT.get(info.token, 'Accepted')})"
        prefix = f"{info.singular}.{info.group}" if info.group else info.singular
        line = answered[f"{prefix}/{doc['metadata']['name']}"]  # type: ignore[index]
        assert line.endswith(want), line

    by_kind: dict[kinds.KindInfo, set[str]] = {}
    for doc in docs:
        info = kinds.for_object(str(doc["apiVersion"]), str(doc["kind"]))
        by_kind.setdefault(info, set()).add(str(doc["metadata"]["name"]))  # type: ignore[index]
    for info, names in by_kind.items():
        listed = stack.kurator("get", info.plural, "-A")
        assert listed.returncode == 0, listed.stderr
        assert all(name in listed.stdout for name in names), listed.stdout
        as_yaml = stack.kurator("get", info.short_names[0] if info.short_names else info.singular, "-A", "-o", "yaml")
        items = yaml.safe_load(as_yaml.stdout)["items"]
        assert names <= {i["metadata"]["name"] for i in items} <= names | DERIVED.get(info.token, set())
        items = [i for i in items if i["metadata"]["name"] in names]
        phases = {i["status"]["phase"] for i in items}
        assert phases <= PHASES.get(info.token, {"Accepted"}), (info.token, phases)
        assert {i["metadata"]["generation"] for i in items} == {1}
    one = stack.kurator("get", "vcjob", "tensorflow-training", "-o", "json")
    assert one.returncode == 0, one.stderr
    assert '"minAvailable": 3' in one.stdout

    again = stack.kurator("apply", "-f", "examples/06-federateddeployment-frontend.yaml")
    assert again.returncode == 0
    assert again.stdout.count("unchanged") == 3

    watcher = subprocess.Popen(
        [str(BIN / "kurator"), "watch", "--nats-url", stack.nats_url], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        seen: list[str] = []
        assert watcher.stdout is not None
        deadline = time.monotonic() + 30
        names = {str(doc["metadata"]["name"]) for doc in docs}  # type: ignore[index]
        # The stream also carries the simulated fleet's clusters; read until every document showed.
        while time.monotonic() < deadline and not all(name in "".join(seen) for name in names):
            seen.append(watcher.stdout.readline())
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(10)
        if watcher.stdout:
            watcher.stdout.close()
    body = "".join(seen)
    for doc in docs:
        assert str(doc["metadata"]["name"]) in body  # type: ignore[index]


def test_broken_manifests_are_rejected_with_reasons(stack: Stack, tmp_path: Path) -> None:
    """apply exits 1 and names the field for each broken document; valid ones around them land."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        """
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: training}
spec:
  minAvailable: 5
  tasks:
    - {name: ps, replicas: 1, template: {spec: {containers: [{name: c, image: tf}]}}}
    - {name: ps, replicas: 2, template: {spec: {containers: [{name: c, image: tf}]}}}
---
apiVersion: backup.kurator.dev/v1alpha1
kind: BackupPolicy
metadata: {name: nightly}
spec:
  schedule: "0 25 * * *"
  retentionPolicy: {keepLast: 0}
  storageLocation: {provider: aws, bucket: kurator-backups}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ok-service}
spec:
  hosts: [ok-service]
  http:
    - route:
        - destination: {host: ok-service, subset: beijing}
"""
    )
    result = stack.kurator("apply", "-f", str(broken))
    assert result.returncode == 1
    assert "virtualservice.networking.istio.io/ok-service created" in result.stdout
    assert 'The Job "training" is invalid' in result.stderr
    assert "spec.tasks[1].name" in result.stderr
    assert "spec.minAvailable" in result.stderr
    assert 'The BackupPolicy "nightly" is invalid' in result.stderr
    assert "spec.schedule" in result.stderr
    assert "spec.retentionPolicy.keepLast" in result.stderr


def test_unknown_kind_and_delete(stack: Stack) -> None:
    """A kind no service owns fails before publishing; delete removes; deleting twice is NotFound."""
    unknown = stack.kurator("apply", "-f", "-", stdin="apiVersion: v9\nkind: Gizmo\nmetadata: {name: g}\n")
    assert unknown.returncode == 1
    assert "no kurator service handles v9 Gizmo" in unknown.stderr
    assert stack.kurator("apply", "-f", "examples/01-propagationpolicy-nginx.yaml").returncode == 0
    gone = stack.kurator("delete", "-f", "examples/01-propagationpolicy-nginx.yaml")
    assert gone.returncode == 0, gone.stderr
    assert "deleted" in gone.stdout
    again = stack.kurator("delete", "pp", "nginx-propagation")
    assert again.returncode == 1
    assert "NotFound" in again.stderr
    assert stack.kurator("delete", "pp", "nginx-propagation", "--ignore-not-found").returncode == 0
    listed = stack.kurator("get", "pp")
    assert "nginx-propagation" not in listed.stdout


def test_up_stops_every_process_on_interrupt(stack: Stack) -> None:
    """Ctrl-C on kurator up drains and stops the services and NATS; nothing is left running."""
    pids = [int(p.stem.split("_")[-1]) for p in (stack.data_dir / "nats" / "ports").glob("*.ports")]
    stack.proc.send_signal(signal.SIGINT)
    assert stack.proc.wait(60) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
