"""How many more replicas of the workload's shape each cluster can take (``calAvailableReplicas``).

Only the general estimator exists here (the accurate per-cluster ``karmada-scheduler-estimator``
is a gRPC service a real Karmada may add): it reads ``status.resourceSummary``, or, when the
cluster reports resource-model statistics (``allocatableModelings``), simulates 1-replica pods
on virtual nodes of each grade's minimum resources (at most 110 pods per node). Results are
memoised per cluster view and per requirement shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.placement import resources
from shared.placement.views import MAX_INT32, ClusterView, Snapshot

PODS_PER_VIRTUAL_NODE = 110


@dataclass(frozen=True, slots=True)
class Requirements:
    """``spec.replicaRequirements.resourceRequest`` reduced to what the estimator compares."""

    key: tuple[tuple[str, int], ...]
    """``(resource, MilliValue for cpu / Value otherwise)`` for every request with ``Value() > 0``."""
    raw: tuple[tuple[str, Decimal], ...]


NO_REQUIREMENTS = "no-requirements"


def requirements(replica_requirements: Mapping[str, Any] | None) -> Requirements | None:
    if replica_requirements is None:
        return None
    request = resources.parse_list(replica_requirements.get("resourceRequest"))
    kept = sorted((name, q) for name, q in request.items() if resources.value(q) > 0)
    key = tuple((name, resources.milli_value(q) if name == resources.CPU else resources.value(q)) for name, q in kept)
    return Requirements(key, tuple(kept))


def _by_models(view: ClusterView, req: Requirements) -> int:
    total = 0
    for grade in view.models:
        per_node = PODS_PER_VIRTUAL_NODE
        for name, need in req.raw:
            have = grade.minimum.get(name)
            if have is None:
                per_node = 0
                break
            if name == resources.CPU:
                fit = resources.milli_value(have) // resources.milli_value(need)
            else:
                fit = resources.value(have) // resources.value(need)
            per_node = min(per_node, fit)
        total += grade.count * max(0, per_node)
    return total


def general(view: ClusterView, req: Requirements | None) -> int:
    """``GeneralEstimator.maxAvailableReplicas`` for one cluster (at most ``MaxInt32``)."""
    if not view.has_summary:
        return 0
    allowed = view.allowed_pods
    if allowed <= 0:
        return 0
    if req is None:
        return min(allowed, MAX_INT32)
    if view.models:
        return min(allowed, _by_models(view, req), MAX_INT32)
    best = allowed
    free = view.free
    for name, need in req.key:
        have = free.get(name)
        if have is None:
            return 0
        value, milli = have
        if value <= 0:
            return 0
        fit = (milli if name == resources.CPU else value) // need
        if fit < best:
            best = fit
    return min(best, MAX_INT32)


def table(snap: Snapshot, req: Requirements | None) -> tuple[list[int], list[int]]:
    """Per cluster of ``snap``: the general estimate, and a sort key (more capacity, then name)."""
    key: object = NO_REQUIREMENTS if req is None else req.key

    def memo(view: ClusterView) -> int:
        # A fleet change builds a new snapshot; the clusters that did not change keep their estimate.
        found = view.estimates.get(key)
        if found is None:
            found = view.estimates[key] = general(view, req)
        return found

    return snap.estimates(key, memo)
