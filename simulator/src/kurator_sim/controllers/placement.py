"""The simulator's door to the placement engine in :mod:`shared.placement`.

The Karmada scheduler (:mod:`.karmada_scheduler`) calls :func:`shared.placement.schedule`
directly; this module keeps the matching helpers other controllers share (label selectors for
the resource detector, tolerations for the taint manager and node capacity, the strategy
test for the binding controller) and :func:`place`, a positional shorthand for tests.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from shared.placement import api, errors, selectors, strategy

Obj = dict[str, Any]

NoFit = errors.NoFit
NO_CLUSTER_FIT = errors.NO_CLUSTER_FIT
UNSCHEDULABLE = errors.UNSCHEDULABLE
SCHEDULER_ERROR = errors.SCHEDULER_ERROR

label_selector_matches = selectors.label_selector_matches
cluster_matches = selectors.cluster_matches
tolerates = selectors.tolerates
untolerated_taint = selectors.untolerated_taint
replica_scheduling_strategy = strategy.replica_scheduling_strategy
is_divided = strategy.is_divided


def place_detailed(
    placement: Mapping[str, Any] | None,
    replicas: int,
    clusters: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
    *,
    replica_requirements: Mapping[str, Any] | None = None,
    uid: str = "",
    resource: tuple[str, str] | None = None,
    evicted: Collection[str] = (),
    reschedule: bool = False,
    affinity_name: str = "",
) -> api.ScheduleResult:
    """:func:`shared.placement.schedule` with the binding's fields as arguments."""
    return api.schedule(
        api.ScheduleRequest(
            placement=placement,
            replicas=replicas,
            clusters=clusters,
            replica_requirements=replica_requirements,
            previous=previous,
            uid=uid,
            resource=resource,
            evicted=evicted,
            reschedule=reschedule,
            observed_affinity_name=affinity_name,
        )
    )


def place(
    placement: Mapping[str, Any] | None,
    replicas: int,
    clusters: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
    **options: Any,
) -> list[Obj]:
    """The new ``spec.clusters`` (see :func:`place_detailed`)."""
    return [dict(c) for c in place_detailed(placement, replicas, clusters, previous, **options).clusters]
