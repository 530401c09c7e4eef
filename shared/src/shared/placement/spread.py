"""Ordering feasible clusters and selecting candidates under spread constraints (``SelectClusters``).

Feasible clusters are ranked by the total order ``(overflowOrder asc, score desc,
AvailableReplicas desc, name asc)``. Then ``SelectBestClusters`` (spec 7.2): without spread
constraints, or with static weights (which ignore them), every ranked cluster is a candidate;
a ``region`` constraint picks regions with :func:`~shared.placement.groups.select_groups`
(region scores from ``calcGroupScore``), the best cluster of each, then the best of the rest
up to the ``cluster`` constraint's ``maxGroups`` (capacity not checked); a lone ``cluster``
constraint takes the top ``maxGroups`` and, for divided workloads, swaps in roomier clusters
from the back until the capacity covers the replicas. ``zone`` and ``provider`` constraints
only act through the spread-constraint filter, as in Karmada.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.placement import errors, groups, strategy
from shared.placement.views import Snapshot

_WEIGHT_UNIT = 1000


@dataclass(slots=True)
class Ranked:
    """The feasible clusters of one pass, best first, with the figures selection reads."""

    snap: Snapshot
    order: list[int]
    """Snapshot indices in the total order."""
    allocatable: Sequence[int]
    """By snapshot index: new replicas that fit (the estimate)."""
    available: Sequence[int]
    """By snapshot index: ``allocatable`` plus what the workload already runs there."""
    scores: Mapping[int, int]
    """Snapshot index -> score, for clusters with a non-zero score (previously scheduled: 100)."""
    overflow: Mapping[int, int]
    """Snapshot index -> overflow tier, for clusters outside the affinity term itself."""


def rank(
    snap: Snapshot,
    feasible: list[int],
    *,
    allocatable: Sequence[int],
    available: Sequence[int],
    scores: Mapping[int, int],
    overflow: Mapping[int, int],
    plain_order: Sequence[int] | None,
) -> Ranked:
    """Sort ``feasible``. ``plain_order`` is a ready sort key by (available desc, name) for
    when no cluster has a score or an overflow tier (the common case)."""
    if plain_order is not None and not scores and not overflow:
        feasible.sort(key=plain_order.__getitem__)
    else:
        name_rank = snap.rank
        feasible.sort(
            key=lambda i: (overflow.get(i, 0), -scores.get(i, 0), -available[i], name_rank[i]),
        )
    return Ranked(snap, feasible, allocatable, available, scores, overflow)


def select(placement: Mapping[str, Any], ranked: Ranked, replicas: int) -> list[int]:
    """The candidate clusters (snapshot indices, in the order Karmada returns them)."""
    if not placement.get("spreadConstraints") or strategy.ignores_spread_constraints(placement):
        return ranked.order
    need = -1 if strategy.ignores_capacity_in_selection(placement) else replicas
    by_field = strategy.spread_constraints(placement)
    if "region" in by_field:
        return _by_region(by_field, ranked, placement, replicas)
    if "cluster" in by_field:
        return _by_cluster(by_field["cluster"], ranked, need)
    raise errors.select_failed("just support cluster and region spread constraint")


def _by_cluster(constraint: Mapping[str, Any], ranked: Ranked, need: int) -> list[int]:
    min_groups, max_groups = strategy.groups(constraint)
    order, available = ranked.order, ranked.available
    if len(order) < min_groups:
        raise errors.select_failed("the number of feasible clusters is less than spreadConstraint.MinGroups")
    n = max(0, min(len(order), max_groups))
    if need == -1:
        return order[:n]
    chosen, rest = order[:n], order[n:]
    total = sum(available[i] for i in chosen)
    slot = n - 1
    while total < need and slot >= 0:
        # The first of the roomiest remaining clusters, if it has more room than this slot.
        if rest:
            j = max(range(len(rest)), key=lambda k: available[rest[k]])
            if available[rest[j]] > available[chosen[slot]]:
                total += available[rest[j]] - available[chosen[slot]]
                chosen[slot], rest[j] = rest[j], chosen[slot]
        slot -= 1
    if total < need:
        raise errors.select_failed(f"no enough resource when selecting {n} clusters")
    return chosen


def group_score(
    members: Sequence[int], ranked: Ranked, placement: Mapping[str, Any], replicas: int, min_groups: int
) -> int:
    """``calcGroupScore`` of a topology group whose clusters are ``members`` (in global order)."""
    available, scores = ranked.available, ranked.scores
    if strategy.is_duplicated_for_groups(placement):
        valid = [i for i in members if available[i] >= replicas]
        if not valid:
            return 0
        return _WEIGHT_UNIT * len(valid) + sum(scores.get(i, 0) for i in valid) // len(valid)
    target = -(-replicas // max(1, min_groups))
    cluster_min, _ = strategy.groups(strategy.spread_constraints(placement).get("cluster"))
    need = max(cluster_min, min_groups)
    sum_available = sum_score = count = 0
    for i in members:
        sum_available += available[i]
        sum_score += scores.get(i, 0)
        count += 1
        if count >= need and sum_available >= target:
            break
    if sum_available < target:
        return _WEIGHT_UNIT * sum_available + sum_score // len(members)
    return _WEIGHT_UNIT * target + sum_score // count


def _by_region(
    by_field: Mapping[str, Mapping[str, Any]], ranked: Ranked, placement: Mapping[str, Any], replicas: int
) -> list[int]:
    region_min, region_max = strategy.groups(by_field["region"])
    cluster_min, cluster_max = strategy.groups(by_field.get("cluster"))
    region_of = ranked.snap.regions()
    region_id = ranked.snap.region_ids()
    # A stable sort by region keeps the global order inside each region.
    by_region = sorted(ranked.order, key=region_id.__getitem__)
    members: dict[str, list[int]] = {}
    for _, run in itertools.groupby(by_region, key=region_id.__getitem__):
        group = list(run)
        if region_of[group[0]]:
            members[region_of[group[0]]] = group
    if len(members) < region_min:
        raise errors.select_failed("the number of feasible region is less than spreadConstraint.MinGroups")
    candidates = [
        groups.Group(name, len(m), group_score(m, ranked, placement, replicas, region_min))
        for name, m in members.items()
    ]
    chosen = groups.select_groups(candidates, region_min, region_max, cluster_min)
    if not chosen:
        raise errors.select_failed("the number of clusters is less than the cluster spreadConstraint.MinGroups")
    selected = [members[g.name][0] for g in chosen]
    rest = sum(len(members[g.name]) for g in chosen) - len(selected)
    extra = min(rest + len(selected), cluster_max) - len(selected)
    if extra > 0:
        # The best of the rest in global order: walk the ranking until enough are found.
        regions = {g.name for g in chosen}
        firsts = set(selected)
        for i in ranked.order:
            if region_of[i] in regions and i not in firsts:
                selected.append(i)
                extra -= 1
                if not extra:
                    break
    return selected
