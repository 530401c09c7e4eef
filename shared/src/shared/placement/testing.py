"""Builders for tests and benchmarks: ``Cluster`` objects, placements, and a synthetic fleet.

Not used by the engine itself; kept beside it so the engine's tests, the CLI's tests and the
benchmark build their inputs the same way.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]

DEPLOYMENT = ("apps/v1", "Deployment")
DIVIDED_WEIGHTED: Mapping[str, Any] = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}


def cluster(
    name: str,
    *,
    pods: int | None = 110,
    cpu: str | None = None,
    memory: str | None = None,
    allocated: Mapping[str, str] | None = None,
    allocating: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Mapping[str, Any]] = (),
    provider: str | None = None,
    region: str | None = None,
    zones: Iterable[str] = (),
    apis: Iterable[tuple[str, str]] = (DEPLOYMENT,),
    deleting: bool = False,
    resource_version: str = "1",
) -> Obj:
    """A ``cluster.karmada.io/v1alpha1`` ``Cluster``; ``pods=None`` leaves out ``resourceSummary``."""
    spec: Obj = {"syncMode": "Push"}
    if provider:
        spec["provider"] = provider
    if region:
        spec["region"] = region
    if zones:
        spec["zones"] = list(zones)
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    status: Obj = {
        "apiEnablements": [
            {"groupVersion": gv, "resources": [{"name": kind.lower() + "s", "kind": kind}]} for gv, kind in apis
        ]
    }
    if pods is not None:
        allocatable = {"pods": str(pods)}
        if cpu is not None:
            allocatable["cpu"] = cpu
        if memory is not None:
            allocatable["memory"] = memory
        summary: Obj = {"allocatable": allocatable, "allocated": dict(allocated or {"pods": "0"})}
        if allocating:
            summary["allocating"] = dict(allocating)
        status["resourceSummary"] = summary
    metadata: Obj = {"name": name, "labels": dict(labels or {}), "resourceVersion": resource_version}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def duplicated(**placement: Any) -> Obj:
    return {**placement, "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}


def dynamic(**placement: Any) -> Obj:
    return {
        **placement,
        "replicaScheduling": {**DIVIDED_WEIGHTED, "weightPreference": {"dynamicWeight": "AvailableReplicas"}},
    }


def aggregated(**placement: Any) -> Obj:
    return {
        **placement,
        "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"},
    }


def static(*rules: tuple[Mapping[str, Any], int], **placement: Any) -> Obj:
    weights = [{"targetCluster": dict(target), "weight": weight} for target, weight in rules]
    return {**placement, "replicaScheduling": {**DIVIDED_WEIGHTED, "weightPreference": {"staticWeightList": weights}}}


def as_map(clusters: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """``{name: replicas}`` of a ``spec.clusters`` list (0 for entries without replicas)."""
    return {str(c["name"]): int(c.get("replicas") or 0) for c in clusters}


# --- a synthetic fleet for benchmarks ------------------------------------------------------

PROVIDERS: Mapping[str, tuple[str, ...]] = {
    "aws": ("us-east-1", "us-west-2", "eu-west-1"),
    "gcp": ("us-central1", "europe-west4", "asia-east1"),
    "azure": ("eastus", "westeurope", "japaneast"),
    "huaweicloud": ("cn-north-4", "cn-east-3", "ap-southeast-1"),
}


def synthetic_fleet(count: int, *, seed: int = 7) -> list[Obj]:
    """``count`` clusters over 4 providers and 12 regions (1-3 zones each), with environment,
    tier and team labels, a ``NoSchedule`` taint on about 5 % and a not-ready ``NoExecute``
    taint on about 2 %, and a ``resourceSummary`` of 32-128 CPUs that is partly allocated."""
    rnd = random.Random(seed)
    regions = [(p, r) for p, rs in PROVIDERS.items() for r in rs]
    fleet = []
    for i in range(count):
        provider, region = regions[i % len(regions)]
        taints = []
        if rnd.random() < 0.05:
            taints.append({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"})
        if rnd.random() < 0.02:
            taints.append({"key": "cluster.karmada.io/not-ready", "effect": "NoExecute"})
        cpus = rnd.choice((32, 64, 96, 128))
        memory = cpus * 4
        fleet.append(
            cluster(
                f"member-{i:04d}",
                pods=330,
                cpu=str(cpus),
                memory=f"{memory}Gi",
                allocated={
                    "cpu": f"{rnd.randint(0, cpus * 800)}m",
                    "memory": f"{rnd.randint(0, memory)}Gi",
                    "pods": str(rnd.randint(0, 200)),
                },
                labels={
                    "environment": rnd.choices(("production", "staging", "dev"), (7, 2, 1))[0],
                    "tier": rnd.choice(("gold", "silver", "bronze")),
                    "team": f"team-{i % 20}",
                },
                taints=taints,
                provider=provider,
                region=region,
                zones=[f"{region}-{z}" for z in "abc"[: rnd.randint(1, 3)]],
            )
        )
    return fleet
