"""Where Karmada placed a workload, from its ``ResourceBinding``: the placement status and its changes.

Pure code. A binding (integration notes 6.4) names its resource template (``spec.resource``),
the policy that claimed it (annotations), the scheduler's result (``spec.clusters``), the
``Scheduled`` and ``FullyApplied`` conditions and each member's ``aggregatedStatus``. The
workload's observation is ``status.placement``, those two conditions and a phase:

==================  ==================================================================
``Pending``         no ``Scheduled`` condition yet (or no binding: nothing propagates it)
``Unschedulable``   ``Scheduled=False`` (``NoClusterFit``, ``Unschedulable``, ...)
``Scheduled``       clusters chosen, nothing reported back from them yet
``Progressing``     applied somewhere, not yet healthy everywhere it is scheduled (members
                    still starting it: ``Unhealthy`` before the workload was ever ``Available``)
``Available``       applied and healthy on every scheduled cluster, each of them ready
``Degraded``        a scheduled cluster failed to apply or is not ready, or a member is
                    unhealthy once the workload has been ``Available``
==================  ==================================================================

Karmada reports a member ``Unhealthy`` until its rollout completes, so a workload whose pods
are still starting is not called ``Degraded`` (:func:`phase`'s ``healthy_once``).

Judging only the scheduled clusters matters after a failover: the evicted member's work may
linger (unreachable, so ``FullyApplied`` stays ``False``) while the workload runs whole elsewhere.

Milestones (:attr:`~kurator_fleet.observed.Observation.milestone`, published at once by a busy
writer) are the assignment and the :func:`stage` of the phase: ``Scheduled`` and
``Progressing`` are one stage, a rollout Karmada and the members carry on with by themselves;
the step between them is a detail that may go out with the rollout's outcome.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from kurator_fleet import observed

PENDING: Final = "Pending"
UNSCHEDULABLE: Final = "Unschedulable"
SCHEDULED: Final = "Scheduled"
PROGRESSING: Final = "Progressing"
AVAILABLE: Final = "Available"
DEGRADED: Final = "Degraded"

ROLLING_OUT: Final = "RollingOut"
"""The :func:`stage` of ``Scheduled`` and ``Progressing``."""

_WORST_FIRST: Final = (UNSCHEDULABLE, DEGRADED, PENDING, SCHEDULED, PROGRESSING, AVAILABLE)
"""How placements of several workloads add up: the least advanced one decides."""

PP_NAME: Final = "propagationpolicy.karmada.io/name"
PP_NAMESPACE: Final = "propagationpolicy.karmada.io/namespace"
CPP_NAME: Final = "clusterpropagationpolicy.karmada.io/name"
CONDITIONS: Final = ("Scheduled", "FullyApplied")

WORKLOAD: Final = observed.Ownership(fields=frozenset({"placement"}), conditions=frozenset(CONDITIONS), phase=True)
POLICY: Final = observed.Ownership(fields=frozenset({"placements"}))
PROPAGATION: Final = observed.Ownership(fields=frozenset({"placements"}), phase=True)

ClusterReady = Callable[[str], "bool | None"]
"""Whether a member cluster is ready (``None``: not known)."""
Assignment = tuple[tuple[str, int | None], ...]
"""``spec.clusters`` as ``(cluster, replicas)`` pairs, in the scheduler's order."""


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    api_version: str
    kind: str
    namespace: str | None
    name: str

    def to_wire(self) -> dict[str, str]:
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        return out

    def display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class BindingView:
    binding: Ref
    workload: Ref
    policy: Ref | None
    replicas: int | None
    clusters: Assignment
    conditions: tuple[Mapping[str, Any], ...]
    aggregated: Mapping[str, Mapping[str, Any]]
    evicting: tuple[Mapping[str, Any], ...]
    last_scheduled: str | None
    cluster_names: tuple[str, ...] = ()
    """The names in :attr:`clusters` (:func:`view` fills it: it is asked for on every step)."""

    def condition(self, type_: str) -> Mapping[str, Any] | None:
        for c in self.conditions:
            if c.get("type") == type_:
                return c
        return None


_ref = functools.lru_cache(maxsize=65536)(Ref)
"""A :class:`Ref`, made once per distinct value: every step of a binding names the same three."""


_CONDITION_KEYS: Final = frozenset({"type", "status", "reason", "message", "lastTransitionTime"})


def _condition(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """A condition with only the fields a status shows (most carry no other: taken as they are)."""
    if raw.keys() <= _CONDITION_KEYS:
        return raw
    return {k: raw[k] for k in ("type", "status", "reason", "message", "lastTransitionTime") if k in raw}


def view(obj: Mapping[str, Any]) -> BindingView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    annotations = meta.get("annotations") or {}
    namespace = meta.get("namespace") or None
    resource = spec.get("resource") or {}
    policy: Ref | None = None
    if annotations.get(PP_NAME):
        ns = annotations.get(PP_NAMESPACE) or namespace
        policy = _ref("policy.karmada.io/v1alpha1", "PropagationPolicy", ns, annotations[PP_NAME])
    elif annotations.get(CPP_NAME):
        policy = _ref("policy.karmada.io/v1alpha1", "ClusterPropagationPolicy", None, annotations[CPP_NAME])
    # One pass over the conditions (the last of a type counts), shown in CONDITIONS' order.
    scheduled: Mapping[str, Any] | None = None
    fully: Mapping[str, Any] | None = None
    for c in st.get("conditions") or ():
        if isinstance(c, (dict, Mapping)):
            type_ = c.get("type")
            if type_ == "Scheduled":
                scheduled = c
            elif type_ == "FullyApplied":
                fully = c
    if scheduled is None:
        conditions: tuple[Mapping[str, Any], ...] = () if fully is None else (_condition(fully),)
    else:
        conditions = (_condition(scheduled),) if fully is None else (_condition(scheduled), _condition(fully))
    clusters = tuple([(str(c.get("name")), c.get("replicas")) for c in spec.get("clusters") or () if c.get("name")])
    aggregated = st.get("aggregatedStatus")
    return BindingView(
        binding=_ref(str(obj.get("apiVersion", "")), str(obj.get("kind", "")), namespace, str(meta.get("name", ""))),
        workload=_ref(
            str(resource.get("apiVersion", "")),
            str(resource.get("kind", "")),
            resource.get("namespace") or None,
            str(resource.get("name", "")),
        ),
        policy=policy,
        replicas=spec.get("replicas"),
        clusters=clusters,
        cluster_names=tuple([name for name, _ in clusters]),
        conditions=conditions,
        aggregated={str(item["clusterName"]): item for item in aggregated if item.get("clusterName")}
        if aggregated
        else {},
        evicting=tuple(spec.get("gracefulEvictionTasks") or ()),
        last_scheduled=st.get("lastScheduledTime"),
    )


def phase(binding: BindingView, ready: ClusterReady, *, healthy_once: bool = True) -> str:
    """``healthy_once``: whether the workload has been ``Available`` (else an ``Unhealthy``
    member is still starting it: ``Progressing``, not ``Degraded``)."""
    scheduled = binding.condition("Scheduled")
    if scheduled is None:
        return PENDING
    if scheduled.get("status") != "True":
        return UNSCHEDULABLE
    items = [binding.aggregated.get(name) for name in binding.cluster_names]
    troubled = any(ready(name) is False for name in binding.cluster_names) or any(
        item is not None and (item.get("applied") is False or (healthy_once and item.get("health") == "Unhealthy"))
        for item in items
    )
    if troubled:
        return DEGRADED
    if items and all(item is not None and item.get("applied") and item.get("health") == "Healthy" for item in items):
        return AVAILABLE
    fully = binding.condition("FullyApplied")
    if any(item is not None for item in items) or (fully is not None and fully.get("status") == "True"):
        return PROGRESSING
    return SCHEDULED


def stage(current: str) -> str:
    """What a phase means for a reader waiting on the workload: ``Scheduled`` and
    ``Progressing`` are both :data:`ROLLING_OUT`; every other phase is its own stage."""
    return ROLLING_OUT if current in (SCHEDULED, PROGRESSING) else current


def _cluster_entry(binding: BindingView, name: str, replicas: int | None, ready: ClusterReady) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if replicas is not None:
        entry["replicas"] = replicas
    is_ready = ready(name)
    if is_ready is not None:
        entry["clusterReady"] = is_ready
    item = binding.aggregated.get(name)
    if item is not None:
        for key in ("applied", "appliedMessage", "health", "status"):
            if key in item:
                entry[key] = item[key]
    return entry


def placement(binding: BindingView, ready: ClusterReady) -> dict[str, Any]:
    """The ``status.placement`` of a workload."""
    out: dict[str, Any] = {
        "binding": binding.binding.to_wire(),
        "clusters": [_cluster_entry(binding, name, replicas, ready) for name, replicas in binding.clusters],
    }
    if binding.policy is not None:
        out["policy"] = binding.policy.to_wire()
    if binding.replicas is not None:
        out["replicas"] = binding.replicas
    if binding.evicting:
        out["evicting"] = [
            {k: task[k] for k in ("fromCluster", "reason", "message", "producer") if k in task}
            for task in binding.evicting
        ]
    if binding.last_scheduled:
        out["lastScheduledTime"] = binding.last_scheduled
    return out


def document(binding: BindingView) -> dict[str, Any]:
    """The workload as shown when no intent created it: its identity only."""
    meta = {"name": binding.workload.name}
    if binding.workload.namespace:
        meta["namespace"] = binding.workload.namespace
    return {"apiVersion": binding.workload.api_version, "kind": binding.workload.kind, "metadata": meta}


def workload_observation(
    binding: BindingView, ready: ClusterReady, *, phase_now: str | None = None
) -> observed.Observation:
    """``phase_now``: :func:`phase` of the binding, when the caller has it already.

    Milestones (published promptly, see :class:`~kurator_fleet.observed.Observation`): the
    :func:`stage` of the phase and the assignment; a binding without a ``Scheduled`` condition
    is transient.
    """
    current = phase_now if phase_now is not None else phase(binding, ready)
    return observed.Observation(
        owner=WORKLOAD,
        fields={"placement": placement(binding, ready)},
        conditions=binding.conditions,
        phase=current,
        document=document(binding),
        milestone=(stage(current), binding.clusters),
        transient=current == PENDING,
    )


def unbound_observation() -> observed.Observation:
    """A workload an intent keeps that has no binding (any more): nothing propagates it."""
    return observed.Observation(owner=WORKLOAD, fields={}, phase=PENDING, milestone=(PENDING, ()))


Line = tuple[Ref, Assignment, str]
"""A ``placements`` line as a value: the workload, its assignment and its phase."""


def line(binding: BindingView, ready: ClusterReady, *, phase_now: str | None = None) -> Line:
    """One line of a policy's (or a Propagation's) ``status.placements`` (:func:`summary` on the wire)."""
    return (binding.workload, binding.clusters, phase_now if phase_now is not None else phase(binding, ready))


def wire(entry: Line) -> dict[str, Any]:
    workload, clusters, current = entry
    return {
        "resource": workload.to_wire(),
        "clusters": [
            {"name": name, **({"replicas": replicas} if replicas is not None else {})} for name, replicas in clusters
        ],
        "phase": current,
    }


def summary(binding: BindingView, ready: ClusterReady) -> dict[str, Any]:
    """One line of a policy's (or a Propagation's) ``status.placements``."""
    return wire(line(binding, ready))


def _ordered(summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if len(summaries) < 2:
        return [dict(s) for s in summaries]
    # orjson without spaces orders ASCII documents (Kubernetes names are) as json.dumps did.
    return sorted((dict(s) for s in summaries), key=lambda s: orjson.dumps(s["resource"], option=orjson.OPT_SORT_KEYS))


def _lines(summaries: Sequence[Mapping[str, Any] | Line]) -> tuple[list[dict[str, Any]], frozenset[Line], bool]:
    """The wire lines in order, the milestone (every line the scheduler has looked at, with the
    :func:`stage` of its phase) and whether the lines are transient (all of them waiting for
    the scheduler)."""
    values = [s if isinstance(s, tuple) else _line_of(s) for s in summaries]
    settled = frozenset((w, c, stage(p)) for w, c, p in values if p != PENDING)
    return _ordered([wire(v) for v in values]), settled, bool(values) and not settled


def _line_of(wired: Mapping[str, Any]) -> Line:
    resource = wired.get("resource") or {}
    workload = Ref(
        str(resource.get("apiVersion", "")),
        str(resource.get("kind", "")),
        resource.get("namespace") or None,
        str(resource.get("name", "")),
    )
    return workload, assignment_of(wired) or (), str(wired.get("phase", ""))


def policy_observation(summaries: Sequence[Mapping[str, Any] | Line]) -> observed.Observation:
    """``summaries``: :func:`line` values (or :func:`summary` dicts). Milestones: a line the
    scheduler has looked at appears, goes or moves to other clusters; lines that all wait for
    it are transient. A line's phase alone is a detail here: the workload's own status, where
    readers follow it, publishes it as a milestone."""
    wired, settled, transient = _lines(summaries)
    assigned = frozenset((workload, clusters) for workload, clusters, _ in settled)
    return observed.Observation(owner=POLICY, fields={"placements": wired}, milestone=assigned, transient=transient)


def propagation_observation(summaries: Sequence[Mapping[str, Any] | Line]) -> observed.Observation:
    """As :func:`policy_observation`, plus the least advanced line's phase. No line at all is
    transient too: right after the Propagation is applied, Karmada's detector has not bound its
    templates yet (the write side's own status has just said so), and will on its own."""
    wired, settled, transient = _lines(summaries)
    phases = {s["phase"] for s in wired}
    overall = next((p for p in _WORST_FIRST if p in phases), PENDING)
    return observed.Observation(
        owner=PROPAGATION,
        fields={"placements": wired},
        phase=overall,
        milestone=settled,
        transient=transient or not wired,
    )


def assignment_of(placement_status: Mapping[str, Any] | None) -> Assignment | None:
    """The assignment a published ``status.placement`` (or ``placements`` line) shows."""
    if not placement_status:
        return None
    return tuple(
        (str(c.get("name")), c.get("replicas")) for c in placement_status.get("clusters") or () if c.get("name")
    )


def change(
    before: Assignment | None, binding: BindingView, ready: ClusterReady, *, replicas_before: int | None = None
) -> dict[str, Any] | None:
    """The ``placement.changed`` payload when the assignment moved, else ``None``.

    ``reason``: ``scheduled`` (first placement), ``unscheduled`` (no cluster left), ``failover``
    (a cluster that is not ready or being evicted was dropped, or the clusters left take over
    the replicas an eviction removed), ``scaled`` (the workload's replicas changed) or
    ``rescheduled`` (anything else: a policy or affinity change).
    """
    after = binding.clusters
    if before is None and not after:
        return None
    if before is not None and before == after:
        return None
    previous = before or ()
    dropped = [name for name, _ in previous if name not in binding.cluster_names]
    added = [name for name in binding.cluster_names if name not in {n for n, _ in previous}]
    evicting = {str(t.get("fromCluster")) for t in binding.evicting}
    short = binding.replicas is not None and sum(r or 0 for _, r in previous) < binding.replicas
    if not previous:
        reason = "scheduled"
    elif not after:
        reason = "unscheduled"
    elif dropped and any(ready(name) is False or name in evicting for name in dropped):
        reason = "failover"
    elif replicas_before is not None and binding.replicas != replicas_before:
        reason = "scaled"
    elif not dropped and short:
        reason = "failover"  # the clusters left take over what the eviction took away
    else:
        reason = "rescheduled"

    def listed(assignment: Assignment) -> list[dict[str, Any]]:
        return [{"name": n, **({"replicas": r} if r is not None else {})} for n, r in assignment]

    payload: dict[str, Any] = {
        "workload": binding.workload.to_wire(),
        "binding": binding.binding.to_wire(),
        "previous": listed(previous),
        "clusters": listed(after),
        "added": added,
        "removed": dropped,
        "reason": reason,
    }
    if binding.policy is not None:
        payload["policy"] = binding.policy.to_wire()
    return payload
