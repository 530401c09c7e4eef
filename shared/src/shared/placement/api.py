"""The engine's entry point: :func:`schedule` one binding, with ordered failover groups.

A :class:`ScheduleRequest` carries what Karmada's scheduler reads from a
``ResourceBinding`` and the member ``Cluster`` objects; a :class:`ScheduleResult` is the new
``spec.clusters`` plus the affinity term used and why every other cluster was left out.
With ``clusterAffinities`` (spec 10) the scheduler starts from the term it is observing (the
first one after an explicit reschedule) and moves down the list until a term schedules; when
all fail, the first error is raised (a ``NoClusterFit`` one clears the placement).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.placement import errors, estimate, generic, strategy, views
from shared.placement.context import Job
from shared.placement.views import Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRequest:
    placement: Mapping[str, Any] | None
    """``spec.placement`` of the binding: Karmada-native, as the webhook stores it."""
    replicas: int = 0
    """``spec.replicas`` (0 for non-workloads such as Services and ConfigMaps)."""
    clusters: Sequence[Mapping[str, Any]] | Snapshot = ()
    """``cluster.karmada.io/v1alpha1`` ``Cluster`` objects (or a prepared :class:`Snapshot`)."""
    replica_requirements: Mapping[str, Any] | None = None
    """``spec.replicaRequirements`` (``resourceRequest`` per replica)."""
    previous: Sequence[Mapping[str, Any]] = ()
    """The current ``spec.clusters``: ``[{name, replicas}]``."""
    uid: str = ""
    """``spec.resource.uid``: the workload UID whose hash parity breaks division ties."""
    resource: tuple[str, str] | None = None
    """``(apiVersion, kind)`` for the API-enablement filter; ``None`` skips that filter."""
    evicted: Collection[str] = ()
    """``fromCluster`` of ``spec.gracefulEvictionTasks``."""
    reschedule: bool = False
    """``rescheduleTriggeredAt`` is after ``lastScheduledTime``: recompute from scratch."""
    observed_affinity_name: str = ""
    """``status.schedulerObservingAffinityName``."""


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    clusters: tuple[dict[str, Any], ...]
    """The new ``spec.clusters``: ``{name, replicas}``, or ``{name}`` for non-workloads."""
    affinity_name: str
    """The ``clusterAffinities`` term used ("" without ``clusterAffinities``)."""
    excluded: Mapping[str, str]
    """Every cluster without replicas, and why."""
    failed_affinities: tuple[tuple[str, str], ...] = field(default=())
    """``(affinityName, error)`` of the terms tried before the one used."""


def _previous(previous: Sequence[Mapping[str, Any]]) -> tuple[tuple[tuple[str, int], ...], dict[str, int]]:
    pairs = tuple((str(c["name"]), int(c.get("replicas") or 0)) for c in previous if c.get("name"))
    first: dict[str, int] = {}
    for name, n in pairs:
        first.setdefault(name, n)
    return pairs, first


def _job(request: ScheduleRequest, snap: Snapshot, placement: Mapping[str, Any]) -> Job:
    pairs, first = _previous(request.previous)
    return Job(
        snap=snap,
        placement=placement,
        replicas=max(0, int(request.replicas)),
        requirements=estimate.requirements(request.replica_requirements),
        has_requirements=request.replica_requirements is not None,
        previous=pairs,
        previous_replicas=first,
        scheduled_mask=snap.names_mask(first),
        uid=request.uid,
        reschedule=request.reschedule,
        strategy=strategy.replica_scheduling_strategy(placement),
        resource=request.resource,
        evicted=frozenset(request.evicted),
        affinity=placement.get("clusterAffinity"),
    )


def schedule(request: ScheduleRequest) -> ScheduleResult:
    """Place one binding.

    Raises:
        NoFit: nothing could be placed (``NoClusterFit``, ``Unschedulable`` or ``SchedulerError``).
    """
    placement: Mapping[str, Any] = request.placement or {}
    job = _job(request, views.snapshot(request.clusters), placement)
    terms = placement.get("clusterAffinities")
    if placement.get("clusterAffinity") is not None or not terms:
        result = generic.run(job)
        return ScheduleResult(tuple(result.clusters), "", result.excluded)
    names = [str(t.get("affinityName") or "") for t in terms]
    observed = request.observed_affinity_name
    start = names.index(observed) if observed in names and not request.reschedule else 0
    first: errors.NoFit | None = None
    failed: list[tuple[str, str]] = []
    for name, term in zip(names[start:], terms[start:], strict=True):
        try:
            result = generic.run(job.with_term(term))
        except errors.NoFit as exc:
            first = first or exc
            failed.append((name, exc.message))
            continue
        return ScheduleResult(tuple(result.clusters), name, result.excluded, tuple(failed))
    assert first is not None
    raise first
