"""One scheduling request as the engine's stages read it (:class:`Job`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from shared.placement import estimate
from shared.placement.views import Snapshot


@dataclass(frozen=True, slots=True)
class Job:
    snap: Snapshot
    placement: Mapping[str, Any]
    replicas: int
    requirements: estimate.Requirements | None
    has_requirements: bool
    previous: tuple[tuple[str, int], ...]
    """The previous result (``spec.clusters``) as ``(name, replicas)``, in its order."""
    previous_replicas: Mapping[str, int]
    """``AssignedReplicasForCluster``: the first entry's replicas per name."""
    scheduled_mask: int
    """The snapshot's clusters that are in ``spec.clusters`` (``TargetContains``)."""
    uid: str
    reschedule: bool
    strategy: str
    resource: tuple[str, str] | None
    """``(apiVersion, kind)`` for the API-enablement filter; ``None`` skips it."""
    evicted: frozenset[str]
    """``fromCluster`` of the binding's graceful eviction tasks."""
    affinity: Mapping[str, Any] | None = None
    """``placement.clusterAffinity``, or the ``clusterAffinities`` term being tried."""
    term: bool = False
    """``affinity`` is a ``clusterAffinities`` term (which may carry overflow affinities)."""

    def with_term(self, term: Mapping[str, Any]) -> Job:
        return replace(self, affinity=term, term=True)

    @property
    def overflow(self) -> bool:
        """Overflow mode: the term in force has ``overflowAffinities`` (spec 10)."""
        return self.term and self.affinity is not None and self.affinity.get("overflowAffinities") is not None

    def affinities(self) -> list[Mapping[str, Any]] | None:
        """What the ClusterAffinity filter matches: the affinity, plus a term's overflow
        affinities for workloads; ``None`` when there is no affinity at all."""
        if self.affinity is None:
            return None
        out = [self.affinity]
        if self.term and self.workload:
            out += list(self.affinity.get("overflowAffinities") or ())
        return out

    @property
    def workload(self) -> bool:
        """Replicas are assigned (``replicas > 0`` or replica requirements are given)."""
        return self.replicas > 0 or self.has_requirements
