"""Fixtures for gang-fit tests: the seed TensorFlow job, the example fleet's nodes, node builders."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).parents[3] / "examples"
Obj = dict[str, Any]


@cache
def _seed_job() -> Obj:
    doc: Obj = yaml.safe_load((EXAMPLES / "04-volcano-job-tensorflow.yaml").read_text(encoding="utf-8"))
    return doc


@cache
def _fleet_nodes() -> dict[str, list[Obj]]:
    # The simulator's example fleet, as `kurator up` starts it: the nodes the apps service reads.
    from kurator_sim import testing

    fleet = testing.make_fleet()
    out: dict[str, list[Obj]] = {}
    for name, member in fleet.members.items():
        rt = member.store.registry.by_key(("", "nodes"))
        out[name] = [copy.deepcopy(n) for n in member.store.iter_raw(rt)]
    return out


@pytest.fixture
def seed_job() -> Obj:
    return copy.deepcopy(_seed_job())


@pytest.fixture
def fleet_nodes() -> dict[str, list[Obj]]:
    return copy.deepcopy(_fleet_nodes())


def _node(
    name: str,
    *,
    cpu: str = "16",
    memory: str = "64Gi",
    gpus: str | None = None,
    labels: dict[str, str] | None = None,
    taints: list[Obj] | None = None,
    ready: str | None = "True",
    unschedulable: bool = False,
) -> Obj:
    """A v1 Node dict."""
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus is not None:
        allocatable["nvidia.com/gpu"] = gpus
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    status: Obj = {"capacity": dict(allocatable), "allocatable": allocatable}
    if ready is not None:
        status["conditions"] = [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
        "status": status,
    }


def _gpu_job(name: str, *, workers: int, gpus: int, cpu: str = "1", selector: bool = True) -> Obj:
    """A one-task job of ``workers`` pods, each asking for ``gpus`` GPUs (as limits)."""
    template: Obj = {
        "spec": {
            "containers": [
                {
                    "name": "train",
                    "image": "train:1",
                    "resources": {"limits": {"cpu": cpu, "nvidia.com/gpu": str(gpus)}},
                }
            ]
        }
    }
    if selector:
        template["spec"]["nodeSelector"] = {"node-type": "gpu"}
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"minAvailable": workers, "tasks": [{"name": "worker", "replicas": workers, "template": template}]},
    }


@pytest.fixture
def make_node() -> Callable[..., Obj]:
    return _node


@pytest.fixture
def make_gpu_job() -> Callable[..., Obj]:
    return _gpu_job
