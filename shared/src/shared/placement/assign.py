"""Replica assignment (``AssignReplicas``, spec 8-10): how many replicas each candidate gets.

Non-workloads get every candidate without a count. Workloads follow their strategy:
Duplicated (everyone gets all), static weights (capacity- and history-blind Webster division),
and the dynamic strategies, dynamic weights and Aggregated, which keep what already runs:
scale-up divides only the new replicas by free capacity, scale-down shrinks in proportion to
what runs, an explicit reschedule recomputes from scratch, and Aggregated uses the shortest
prefix of clusters (previously used first) whose capacity covers the target. With overflow
affinities the tiers are filled in order. Zero entries are dropped; :attr:`Assignment.idle`
says why each candidate got nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.placement import errors, selectors, strategy
from shared.placement.context import Job
from shared.placement.spread import Ranked
from shared.placement.webster import allocate_by_weight

Counts = list[tuple[str, int]]


@dataclass(slots=True)
class Assignment:
    clusters: list[dict[str, Any]]
    """``spec.clusters``: ``{name, replicas}`` (``{name}`` for non-workloads)."""
    idle: dict[str, str] = field(default_factory=dict)
    """Candidates that got no replica, with why."""


def assign(job: Job, ranked: Ranked, candidates: Sequence[int]) -> Assignment:
    if not candidates:
        raise errors.assign_failed(errors.NO_CLUSTERS_AVAILABLE)
    names = ranked.snap.names
    if not job.workload:
        return Assignment([{"name": names[i]} for i in candidates])
    notes: dict[str, str] = {}
    if job.overflow:
        counts = _by_tiers(job, ranked, candidates, notes)
    else:
        counts = _by_strategy(job, ranked, candidates, job.replicas, notes)
    clusters = [{"name": name, "replicas": n} for name, n in counts if n > 0]
    placed = {c["name"] for c in clusters}
    idle = {names[i]: notes.get(names[i], "got no replica") for i in candidates if names[i] not in placed}
    return Assignment(clusters, idle)


def _by_tiers(job: Job, ranked: Ranked, candidates: Sequence[int], idle: dict[str, str]) -> Counts:
    tiers: dict[int, list[int]] = {}
    for i in candidates:
        tiers.setdefault(ranked.overflow.get(i, 0), []).append(i)
    remaining = job.replicas
    result: Counts = []
    for tier in sorted(tiers):
        members = tiers[tier]
        if remaining <= 0:
            for i in members:
                idle[ranked.snap.names[i]] = f"not needed: overflow tier {tier} was not reached"
            continue
        share = min(remaining, sum(ranked.available[i] for i in members))
        result += [(n, r) for n, r in _by_strategy(job, ranked, members, share, idle) if r > 0]
        remaining -= share
    if remaining > 0:
        raise errors.overflow_not_enough()
    return result


def _by_strategy(job: Job, ranked: Ranked, members: Sequence[int], replicas: int, idle: dict[str, str]) -> Counts:
    kind = job.strategy
    names = ranked.snap.names
    if kind == strategy.DUPLICATED:
        return [(names[i], replicas) for i in members]
    if kind == strategy.STATIC_WEIGHT:
        return _static(job, ranked, members, replicas, idle)
    if kind in (strategy.DYNAMIC_WEIGHT, strategy.AGGREGATED):
        return _dynamic(job, ranked, members, replicas, idle)
    rs = job.placement.get("replicaScheduling") or {}
    raise errors.assign_failed(
        "unsupported replica scheduling strategy, replicaSchedulingType: "
        f"{rs.get('replicaSchedulingType') or ''}, replicaDivisionPreference: "
        f"{rs.get('replicaDivisionPreference') or ''}, please try another scheduling strategy"
    )


def _static(job: Job, ranked: Ranked, members: Sequence[int], replicas: int, idle: dict[str, str]) -> Counts:
    names = ranked.snap.names
    wp = (job.placement.get("replicaScheduling") or {}).get("weightPreference")
    if wp is None:  # getDefaultWeightPreference: every candidate weighs 1
        weights = [(names[i], 1) for i in members]
    else:
        rules = [
            (selectors.affinity_mask(ranked.snap, r.get("targetCluster") or {}), int(r.get("weight") or 0))
            for r in wp.get("staticWeightList") or ()
        ]
        weights = []
        unmatched = []
        for i in members:
            bit = 1 << i
            w = max((weight for mask, weight in rules if mask & bit), default=0)
            if w > 0:
                weights.append((names[i], w))
            else:
                unmatched.append(names[i])
        if not weights:  # nobody matched: equal weights
            weights = [(names[i], 1) for i in members]
            unmatched = []
        for name in unmatched:
            idle[name] = "no staticWeightList rule matches it"
    for name, w in weights:
        idle[name] = f"its weight {w} earned no replica of {replicas}"
    return allocate_by_weight(replicas, weights, job.uid)


def _stable_desc(items: Counts) -> Counts:
    """Go's ``sort.Sort`` by replicas desc (an insertion sort, so stable, for <= 12 items)."""
    return sorted(items, key=lambda item: -item[1])


def _dynamic(job: Job, ranked: Ranked, members: Sequence[int], replicas: int, idle: dict[str, str]) -> Counts:
    names = ranked.snap.names
    member_names = {names[i] for i in members}
    scheduled = [(n, r) for n, r in job.previous if n in member_names]
    assigned = sum(r for _, r in scheduled)
    allocatable = ranked.allocatable
    if job.reschedule:
        have = dict(scheduled)
        avail = _stable_desc([(names[i], allocatable[i] + have.get(names[i], 0)) for i in members])
        return _divide(job, replicas, avail, [], "do fresh scale", idle)
    if assigned > replicas:
        running = {n for n, _ in scheduled}
        for i in members:
            if names[i] not in running:
                idle[names[i]] = "not needed: a scale-down only shrinks the clusters that run replicas"
        return _divide(job, replicas, _stable_desc(scheduled), [], "scale down", idle)
    if assigned < replicas:
        avail = _stable_desc([(names[i], allocatable[i]) for i in members])
        for name, free in avail:
            if free <= 0:
                idle[name] = "no capacity: not one more replica of this size fits"
        return _divide(job, replicas - assigned, avail, scheduled, "scale up", idle)
    for i in members:
        idle[names[i]] = "not needed: the current placement already holds every replica"
    return scheduled


def _divide(job: Job, target: int, avail: Counts, scheduled: Counts, stage: str, idle: dict[str, str]) -> Counts:
    """``dynamicDivideReplicas``: Webster over capacity, merged into what is kept."""
    total = sum(n for _, n in avail)
    if total < target:
        raise errors.not_enough_capacity(total, stage=stage)
    if job.strategy == strategy.AGGREGATED:
        prior = {n for n, r in scheduled if r > 0}
        ordered = [a for a in avail if a[0] in prior] + [a for a in avail if a[0] not in prior]
        prefix: Counts = []
        running = 0
        for item in ordered:
            if running >= target:
                idle.setdefault(item[0], "not needed: Aggregated packs replicas into as few clusters as possible")
                continue
            prefix.append(item)
            running += item[1]
        avail = prefix
    merged: dict[str, int] = {}
    for name, n in allocate_by_weight(target, avail, job.uid):
        merged[name] = merged.get(name, 0) + n
    for name, n in scheduled:
        merged[name] = merged.get(name, 0) + n
    return list(merged.items())
