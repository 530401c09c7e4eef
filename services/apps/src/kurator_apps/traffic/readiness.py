"""Whether the traffic a ``VirtualService`` sends can arrive: the verdict for its status.

Per referenced subset: does the cluster it selects exist in the fleet, is it ready, and does it
run the service (when the caller knows which clusters do)? Also where the config is held: the
mesh's primaries, and whether they are ready. A subset the user's own ``DestinationRule``
selects by other labels than the cluster (``version: v2``) cannot be judged per cluster; it is
reported, not counted against readiness.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kurator_apps.traffic import subsets
from kurator_apps.traffic.derive import SubsetBinding, TrafficPlan
from kurator_apps.traffic.mesh import MemberCluster


@dataclass(frozen=True, slots=True)
class SubsetReadiness:
    host: str
    subset: str
    cluster: str | None
    exists: bool
    ready: bool
    serving: bool | None
    """Whether the cluster runs the service; ``None``: not known."""
    message: str

    @property
    def ok(self) -> bool:
        return self.cluster is None or (self.exists and self.ready and self.serving is not False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"host": self.host, "subset": self.subset, "cluster": self.cluster}
        out.update(exists=self.exists, ready=self.ready, ok=self.ok, message=self.message)
        if self.serving is not None:
            out["serving"] = self.serving
        return out


@dataclass(frozen=True, slots=True)
class TrafficReadiness:
    subsets: tuple[SubsetReadiness, ...]
    primaries: tuple[tuple[str, bool], ...]
    """``(cluster, ready)`` for every cluster the config is written to."""

    @property
    def ready(self) -> bool:
        return bool(self.primaries) and all(r for _, r in self.primaries) and all(s.ok for s in self.subsets)

    @property
    def problems(self) -> tuple[str, ...]:
        found = [s.message for s in self.subsets if not s.ok]
        if not self.primaries:
            found.append("no primary cluster to hold the configuration")
        found += [f"primary cluster {name} is not ready" for name, ready in self.primaries if not ready]
        return tuple(found)


def _subset(
    binding: SubsetBinding, fleet: dict[str, MemberCluster], serving: Collection[str] | None
) -> SubsetReadiness:
    """One subset's verdict; ``serving``: the clusters running its host (``None``: not known)."""
    host, subset, cluster = binding.host, binding.subset, binding.cluster
    if cluster is None:
        message = f"subset {subset} selects endpoints by labels, not by cluster"
        return SubsetReadiness(host, subset, None, False, False, None, message)
    member = fleet.get(cluster)
    runs = None if serving is None else cluster in serving
    if member is None and binding.rule == subsets.Rule.ASSUMED:
        message = (
            f"subset {subset}: no member cluster is named {subset} or {subsets.CLUSTER_PREFIX}{subset} "
            f"(map it with the {subsets.SUBSET_CLUSTERS_ANNOTATION} annotation)"
        )
        return SubsetReadiness(host, subset, cluster, False, False, runs, message)
    if member is None:
        message = f"subset {subset}: cluster {cluster} is not a member of the fleet"
        return SubsetReadiness(host, subset, cluster, False, False, runs, message)
    if not member.ready:
        return SubsetReadiness(
            host, subset, cluster, True, False, runs, f"subset {subset}: cluster {cluster} is not ready"
        )
    if runs is False:
        message = f"subset {subset}: cluster {cluster} does not run {host}"
        return SubsetReadiness(host, subset, cluster, True, True, runs, message)
    return SubsetReadiness(host, subset, cluster, True, True, runs, f"subset {subset}: cluster {cluster} is ready")


def readiness(
    plan: TrafficPlan,
    *,
    clusters: Sequence[MemberCluster],
    serving: Mapping[str, Collection[str]] | None = None,
) -> TrafficReadiness:
    """The verdict for ``plan`` given the fleet's ``clusters``.

    ``serving`` maps a destination host, as the routes spell it, to the clusters that run it;
    hosts it does not mention are not checked.
    """
    fleet = {c.name: c for c in clusters}
    known = serving or {}
    verdicts = tuple(_subset(b, fleet, known.get(b.host)) for b in plan.bindings)
    primaries = tuple((name, name in fleet and fleet[name].ready) for name in plan.primaries)
    return TrafficReadiness(subsets=verdicts, primaries=primaries)
