"""The ``plan`` query of the fleet service (``kurator.query.fleet.plan``) and ``kurator plan``.

A :class:`PlanRequest` asks where Karmada would place a workload under a propagation policy;
a :class:`PlanResponse` answers with the ``ResourceBinding`` ``spec.clusters`` Karmada would
write, why every other cluster was left out, and notes about how the input was read (for
example Kurator's weighted shorthand rewritten to Karmada's native form). When nothing can be
placed, ``error`` carries Karmada's ``Scheduled`` condition reason and message; an invalid
request is answered the same way with reason ``Invalid``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.contracts.meta import WireModel

INVALID = "Invalid"
"""``PlanError.reason`` for a request that cannot be read (bad policy, no workload found)."""


class TargetCluster(WireModel):
    """One entry of ``ResourceBinding.spec.clusters``."""

    name: str
    replicas: int | None = None
    """Absent for non-workloads (Services, ConfigMaps), as Karmada writes them."""


class PlanRequest(WireModel):
    policy: dict[str, Any]
    """A ``PropagationPolicy`` or ``ClusterPropagationPolicy`` as written (Kurator shorthand allowed)."""
    workload: dict[str, Any] | None = None
    """The object the policy selects: a Deployment, a FederatedDeployment, or any object with
    ``spec.replicas`` and a pod template. ``None`` plans a non-workload of the first selector's kind."""
    clusters: list[dict[str, Any]] | None = None
    """Member ``Cluster`` objects; ``None`` means the live fleet."""
    previous: list[TargetCluster] | None = None
    """The current ``spec.clusters`` of the binding, for scale-up/scale-down that keeps placements."""
    reschedule: bool = False
    """Plan an explicit reschedule (``rescheduleTriggeredAt``): recompute from scratch."""
    observed_affinity_name: str = ""
    """``status.schedulerObservingAffinityName`` of the binding (the failover group it is on)."""
    evicted_clusters: list[str] = Field(default_factory=list)
    """``fromCluster`` of the binding's graceful eviction tasks."""


class PlanError(WireModel):
    reason: str
    """``NoClusterFit``, ``Unschedulable``, ``SchedulerError`` or ``Invalid``."""
    message: str


class PlanResponse(WireModel):
    clusters: list[TargetCluster] = Field(default_factory=list)
    """In ``ResourceBinding`` ``spec.clusters`` order and shape."""
    excluded: dict[str, str] = Field(default_factory=dict)
    """Every other cluster and why it was left out."""
    affinity_name: str = ""
    """The ``clusterAffinities`` term used ("" with a plain ``clusterAffinity``)."""
    notes: list[str] = Field(default_factory=list)
    error: PlanError | None = None
