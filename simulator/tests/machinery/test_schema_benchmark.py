"""Micro-benchmark of the CR write path (prune + default + validate). Prints timings, asserts
only correctness: run with ``-s`` to see the numbers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from kurator_sim.machinery.crds import load_crds
from kurator_sim.machinery.schema import check_write

CRD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "crds"

pytestmark = pytest.mark.skipif(not CRD_DIR.is_dir(), reason="shared CRDs not available")

CONTAINER = {
    "name": "worker",
    "image": "busybox:1.36",
    "command": ["sh", "-c", "sleep 10"],
    "env": [{"name": "RANK", "value": "0"}],
    "ports": [{"containerPort": 8080, "name": "http"}],
    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": 1, "nvidia.com/gpu": 1}},
}
VCJOB: dict[str, Any] = {
    "apiVersion": "batch.volcano.sh/v1alpha1",
    "kind": "Job",
    "metadata": {"name": "train", "namespace": "ml", "labels": {"team": "a"}},
    "spec": {
        "minAvailable": 3,
        "schedulerName": "volcano",
        "queue": "default",
        "policies": [{"event": "PodEvicted", "action": "RestartJob"}],
        "plugins": {"ssh": [], "svc": []},
        "tasks": [
            {
                "name": name,
                "replicas": replicas,
                "policies": [{"event": "TaskCompleted", "action": "CompleteJob"}],
                "template": {
                    "metadata": {"labels": {"role": name}},
                    "spec": {"restartPolicy": "Never", "containers": [CONTAINER]},
                },
            }
            for name, replicas in (("ps", 1), ("worker", 2))
        ],
    },
}
POLICY: dict[str, Any] = {
    "apiVersion": "policy.karmada.io/v1alpha1",
    "kind": "PropagationPolicy",
    "metadata": {"name": "nginx", "namespace": "default"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
        "placement": {
            "clusterAffinity": {"clusterNames": ["member1", "member2"]},
            "replicaScheduling": {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["member1"]}, "weight": 1},
                        {"targetCluster": {"clusterNames": ["member2"]}, "weight": 2},
                    ]
                },
            },
        },
    },
}


@pytest.mark.parametrize(
    ("crd_name", "obj"),
    [("jobs.batch.volcano.sh", VCJOB), ("propagationpolicies.policy.karmada.io", POLICY)],
)
def test_write_path_timing(crd_name: str, obj: dict[str, Any]) -> None:
    (crd,) = [c for c in load_crds(CRD_DIR) if c.name == crd_name]
    schema = crd.storage_version.schema
    assert schema is not None
    started = time.perf_counter()
    first = check_write(obj, schema)  # includes compiling the schema
    compile_ms = (time.perf_counter() - started) * 1e3
    assert first.ok, first.causes
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        check_write(obj, schema)
    per_call_us = (time.perf_counter() - started) / rounds * 1e6
    print(f"\n{crd.kind}: first call (compile) {compile_ms:.1f} ms, then {per_call_us:.0f} us per write")
