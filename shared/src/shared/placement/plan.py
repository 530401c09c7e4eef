"""The ``plan`` operation: where would Karmada place this workload under this policy?

:func:`plan` reads a policy as the user wrote it (Kurator's ``replicaSchedulingType: Weighted``
shorthand is rewritten to Karmada's native form with the model's ``native()``, and said so),
applies Karmada's webhook defaults, reads the workload as Karmada's interpreter does, and runs
the engine. ``kurator plan --clusters`` calls it directly; the fleet service serves it on
``kurator.query.fleet.plan`` through :func:`handle`, with its live ``Cluster`` objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from shared.contracts import validation
from shared.contracts.models import karmada
from shared.contracts.plan import INVALID, PlanError, PlanRequest, PlanResponse, TargetCluster
from shared.placement import api, errors, selectors, strategy, workload

ClustersSource = Callable[[], Awaitable[Sequence[Mapping[str, Any]]]]

_POLICY_KINDS: dict[str, type[karmada.PropagationPolicy] | type[karmada.ClusterPropagationPolicy]] = {
    "PropagationPolicy": karmada.PropagationPolicy,
    "ClusterPropagationPolicy": karmada.ClusterPropagationPolicy,
}


class _InvalidError(ValueError):
    pass


def _native_placement(policy: Mapping[str, Any], notes: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The policy's placement as Karmada would store it, and its resource selectors."""
    kind = str(policy.get("kind") or "")
    model = _POLICY_KINDS.get(kind)
    if model is None:
        raise _InvalidError(
            f"the policy must be a PropagationPolicy or ClusterPropagationPolicy, not {kind or 'no kind'}"
        )
    try:
        parsed = model.model_validate(policy)
    except ValidationError as exc:
        detail = "; ".join(f"{r.field}: {r.message}" for r in validation.reasons_from(exc))
        raise _InvalidError(f"invalid {kind}: {detail}") from exc
    normalized = parsed.normalized_replica_scheduling()
    if normalized.from_shorthand:
        notes.append(
            "replicaSchedulingType: Weighted with weightList is Kurator shorthand: planned as Karmada's native "
            "replicaSchedulingType: Divided, replicaDivisionPreference: Weighted, weightPreference.staticWeightList"
        )
        if normalized.requested_division_preference == "Aggregated":
            notes.append(
                "replicaDivisionPreference: Aggregated cannot be honoured by Karmada next to static weights: "
                "the weights alone divide the replicas"
            )
    native = parsed.native()
    placement = native.spec.placement
    raw = placement.model_dump(by_alias=True, exclude_none=True) if placement is not None else {}
    selectors_ = [s.model_dump(by_alias=True, exclude_none=True) for s in native.spec.resource_selectors]
    return strategy.webhook_defaults(raw), selectors_


def _selected(found: workload.Workload, resource_selectors: Sequence[Mapping[str, Any]]) -> bool:
    for s in resource_selectors:
        if (s.get("apiVersion"), s.get("kind")) != (found.api_version, found.kind):
            continue
        if s.get("name") and s["name"] != found.name:
            continue
        if s.get("namespace") and found.namespace and s["namespace"] != found.namespace:
            continue
        if s.get("labelSelector") is not None and not selectors.label_selector_matches(
            s["labelSelector"], found.labels
        ):
            continue
        return True
    return False


def selects(policy: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """Whether ``policy``'s resource selectors pick ``obj`` (read as :mod:`.workload` reads it)."""
    resource_selectors = ((policy.get("spec") or {}).get("resourceSelectors")) or ()
    return _selected(workload.interpret(obj), resource_selectors)


def _workload(
    request: PlanRequest, resource_selectors: Sequence[Mapping[str, Any]], notes: list[str]
) -> workload.Workload:
    if request.workload is None:
        if not resource_selectors:
            raise _InvalidError("no workload given and the policy selects nothing")
        first = resource_selectors[0]
        notes.append(f"no workload given: planned as a non-workload {first.get('kind')} (no replica counts)")
        return workload.Workload(
            str(first.get("apiVersion")), str(first.get("kind")), str(first.get("name") or ""), None, "", 0, None, {}
        )
    found = workload.interpret(request.workload)
    if found.generated_from:
        notes.append(f"{found.generated_from} planned as the {found.kind} {found.name!r} it generates")
    if not _selected(found, resource_selectors):
        notes.append(f"the policy's resourceSelectors do not select {found.api_version} {found.kind} {found.name!r}")
    return found


def plan(request: PlanRequest, clusters: Sequence[Mapping[str, Any]]) -> PlanResponse:
    """Plan ``request`` over ``clusters`` (the request's own clusters are ignored here)."""
    notes: list[str] = []
    try:
        placement, resource_selectors = _native_placement(request.policy, notes)
        found = _workload(request, resource_selectors, notes)
    except _InvalidError as exc:
        return PlanResponse(notes=notes, error=PlanError(reason=INVALID, message=str(exc)))
    previous = [c.model_dump(exclude_none=True) for c in request.previous or ()]
    try:
        result = api.schedule(
            api.ScheduleRequest(
                placement=placement,
                replicas=found.replicas,
                clusters=clusters,
                replica_requirements=found.replica_requirements,
                previous=previous,
                uid=found.uid,
                resource=(found.api_version, found.kind),
                evicted=request.evicted_clusters,
                reschedule=request.reschedule,
                observed_affinity_name=request.observed_affinity_name,
            )
        )
    except errors.NoFit as exc:
        return PlanResponse(
            excluded=dict(exc.excluded), notes=notes, error=PlanError(reason=exc.reason, message=exc.message)
        )
    for name, message in result.failed_affinities:
        notes.append(f"clusterAffinities term {name!r} could not be used: {message}")
    return PlanResponse(
        clusters=[TargetCluster.model_validate(c) for c in result.clusters],
        excluded=dict(result.excluded),
        affinity_name=result.affinity_name,
        notes=notes,
    )


async def handle(body: Any, clusters_source: ClustersSource) -> dict[str, Any]:
    """The ``kurator.query.fleet.plan`` handler: a :class:`PlanRequest` in, a :class:`PlanResponse` out.

    ``clusters_source`` returns the live ``Cluster`` objects; it is only awaited when the
    request brings none.
    """
    try:
        request = PlanRequest.model_validate(body)
    except ValidationError as exc:
        detail = "; ".join(f"{r.field}: {r.message}" for r in validation.reasons_from(exc))
        return PlanResponse(error=PlanError(reason=INVALID, message=f"invalid plan request: {detail}")).model_dump(
            by_alias=True
        )
    clusters = request.clusters if request.clusters is not None else await clusters_source()
    return plan(request, clusters).model_dump(by_alias=True)
