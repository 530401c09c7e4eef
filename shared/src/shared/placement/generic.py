"""One scheduling pass (``genericScheduler.Schedule``): filter, score, estimate, select, assign.

Also the diagnosis: every cluster that ends up without replicas gets the reason, in the
words of the stage that left it out (a filter plugin and its reason text, the spread
constraints, capacity, or the division itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.placement import assign, errors, estimate, filters, spread
from shared.placement.context import Job
from shared.placement.views import MAX_INT32, Snapshot, bits, pick

DELETING_REASON = "cluster is being deleted"
NOT_SELECTED_REASON = "not selected by spread constraints"


@dataclass(frozen=True, slots=True)
class PassResult:
    clusters: list[dict[str, Any]]
    excluded: dict[str, str]


def _filtered_out(snap: Snapshot, filtered: filters.Filtered) -> dict[str, str]:
    names = snap.names
    excluded = dict.fromkeys(pick(names, filtered.deleting), DELETING_REASON)
    for f in filtered.failures:
        excluded.update(dict.fromkeys(pick(names, f.mask), f"{f.plugin}: {f.reason}"))
    return excluded


def _diagnosis_base(snap: Snapshot, filtered: filters.Filtered) -> dict[str, str]:
    """Every cluster but the feasible ones with its filter reason, the feasible ones as not
    selected; shared by the decisions that filter the same way (copy before changing)."""

    def compute() -> dict[str, str]:
        base = _filtered_out(snap, filtered)
        base.update(dict.fromkeys(pick(snap.names, filtered.feasible), NOT_SELECTED_REASON))
        return base

    key = ("diagnosis", filtered.feasible, filtered.deleting, filtered.failures)
    found: dict[str, str] = snap.memo(key, compute)
    return found


def _capacity(job: Job) -> tuple[list[int], list[int] | None]:
    """``calAvailableReplicas`` for every cluster, and a ready sort key when one applies."""
    snap = job.snap
    if job.replicas == 0:  # not a workload to count: unlimited, and not clamped
        return [MAX_INT32] * snap.size, snap.rank
    raw, order = estimate.table(snap, job.requirements)
    if MAX_INT32 in raw:  # no estimator could tell (best effort): assume the workload fits
        return [job.replicas if n == MAX_INT32 else n for n in raw], None
    return raw, order


def _overflow_tiers(job: Job, filtered: filters.Filtered) -> dict[int, int]:
    if not job.overflow:
        return {}
    seen = filtered.affinity_masks[0]
    tiers: dict[int, int] = {}
    for k, mask in enumerate(filtered.affinity_masks[1:], start=1):
        for i in bits(mask & filtered.feasible & ~seen):
            tiers[i] = k
        seen |= mask
    return tiers


def run(job: Job) -> PassResult:
    snap = job.snap
    filtered = filters.run(
        snap,
        job.placement,
        scheduled=job.scheduled_mask,
        resource=job.resource,
        evicted=job.evicted,
        affinities=job.affinities(),
    )
    feasible = bits(filtered.feasible)
    if not feasible:
        excluded = _filtered_out(snap, filtered)
        raise errors.NoFit(errors.NO_CLUSTER_FIT, errors.fit_error(snap.size, filtered.reason_counts()), excluded)

    allocatable, plain_order = _capacity(job)
    available = allocatable
    scores: dict[int, int] = {}
    if job.scheduled_mask & filtered.feasible:
        available = list(allocatable)
        for i in bits(job.scheduled_mask & filtered.feasible):
            scores[i] = 100  # ClusterLocality
            available[i] += job.previous_replicas.get(snap.names[i], 0)
    ranked = spread.rank(
        snap,
        feasible,
        allocatable=allocatable,
        available=available,
        scores=scores,
        overflow=_overflow_tiers(job, filtered),
        plain_order=plain_order,
    )
    try:
        candidates = spread.select(job.placement, ranked, job.replicas)
        result = assign.assign(job, ranked, candidates)
    except errors.NoFit as exc:
        excluded = _filtered_out(snap, filtered)
        for i in ranked.order:
            excluded[snap.names[i]] = f"feasible, room for {available[i]} replicas, but: {exc.message}"
        raise exc.with_excluded(excluded) from None
    excluded = dict(_diagnosis_base(snap, filtered))
    names = snap.names
    for i in candidates:
        del excluded[names[i]]
    excluded.update(result.idle)
    return PassResult(result.clusters, excluded)
