"""The filter plugins: which clusters may take the binding at all, and why the others may not.

Every plugin must pass (spec section 4). Plugins run in a fixed order here (Karmada's is Go
map order, which only changes which reason a cluster that fails several is counted under):
``APIEnablement``, ``TaintToleration``, ``ClusterAffinity``, ``SpreadConstraint``,
``ClusterEviction``. Clusters being deleted are skipped before any plugin. Each plugin works
on bit masks of the whole snapshot; a cluster is charged to the first plugin that rejects it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shared.placement import selectors
from shared.placement.views import BLOCKING_EFFECTS, ClusterView, Snapshot

API_ENABLEMENT: Final = "APIEnablement"
TAINT_TOLERATION: Final = "TaintToleration"
CLUSTER_AFFINITY: Final = "ClusterAffinity"
SPREAD_CONSTRAINT: Final = "SpreadConstraint"
CLUSTER_EVICTION: Final = "ClusterEviction"

API_REASON: Final = "cluster(s) did not have the API resource"
AFFINITY_REASON: Final = "cluster(s) did not match the placement cluster affinity constraint"
EVICTION_REASON: Final = "cluster(s) is in the process of eviction"
_SPREAD_REASONS: Final = {
    "provider": "cluster(s) did not have provider property",
    "region": "cluster(s) did not have region property",
    "zone": "cluster(s) did not have zones property",
}


@dataclass(frozen=True, slots=True)
class Failure:
    plugin: str
    reason: str
    """Karmada's reason text (what ``FitError`` counts)."""
    mask: int
    """The clusters this plugin rejected first."""


@dataclass(frozen=True, slots=True)
class Filtered:
    feasible: int
    failures: tuple[Failure, ...]
    deleting: int
    affinity_masks: tuple[int, ...]
    """Per affinity (the term, then its overflow affinities): the clusters that match it."""

    def reason_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.failures:
            counts[f.reason] = counts.get(f.reason, 0) + f.mask.bit_count()
        return counts


def run(
    snap: Snapshot,
    placement: Mapping[str, Any],
    *,
    scheduled: int,
    resource: tuple[str, str] | None,
    evicted: Collection[str],
    affinities: Sequence[Mapping[str, Any]] | None,
) -> Filtered:
    """Run every plugin. ``scheduled`` is the mask of clusters in the previous result
    (``spec.clusters``), which pass the API-enablement and taint plugins; ``affinities`` is
    ``None`` without any cluster affinity."""
    remaining = snap.all & ~snap.deleting
    failures: dict[tuple[str, str], int] = {}

    def reject(plugin: str, reason: str, mask: int) -> None:
        nonlocal remaining
        hit = mask & remaining
        if hit:
            failures[plugin, reason] = failures.get((plugin, reason), 0) | hit
            remaining &= ~hit

    if resource is not None:
        reject(API_ENABLEMENT, API_REASON, ~snap.api(*resource) & ~scheduled)

    if snap.tainted:
        tolerations = placement.get("clusterTolerations") or ()

        def reason_of(view: ClusterView) -> str | None:
            taint = selectors.untolerated_taint(view.blocking_taints, tolerations, BLOCKING_EFFECTS)
            return None if taint is None else f"cluster(s) had untolerated taint {{{selectors.taint_string(taint)}}}"

        key = repr(tolerations)  # plain data: its repr identifies it
        for reason, mask in snap.untolerated(key, reason_of).items():
            reject(TAINT_TOLERATION, reason, mask & ~scheduled)

    masks: tuple[int, ...] = ()
    if affinities is not None:
        masks = tuple(selectors.affinity_mask(snap, a) for a in affinities)
        matched = 0
        for m in masks:
            matched |= m
        reject(CLUSTER_AFFINITY, AFFINITY_REASON, ~matched)

    for constraint in placement.get("spreadConstraints") or ():
        by = constraint.get("spreadByField")
        if by in _SPREAD_REASONS:
            reject(SPREAD_CONSTRAINT, _SPREAD_REASONS[by], ~snap.has(by))

    if evicted:
        reject(CLUSTER_EVICTION, EVICTION_REASON, snap.names_mask(evicted))

    return Filtered(remaining, tuple(Failure(p, r, m) for (p, r), m in failures.items()), snap.deleting, masks)
