"""An Application's status: what was written for each cluster and sync policy, and its state.

Pure code. The state of each written object is Flux's: its ``Ready`` condition when Flux's
controllers have set one (``True``/``False`` with Flux's reason and message). Without one the
object is reported as written and *waiting for Flux* (``Unknown``), never as ready: nothing
here deploys anything, Flux does. A member whose kubeconfig Secret is missing on the host is
reported as such, since Flux cannot reach that cluster until it exists.

Phase: ``Pending`` when nothing can be rendered yet (the Fleet or a listed member missing, or
no members), ``Ready`` when the source and every delivery report ``Ready=True``, ``Failed``
when any reports ``Ready=False``, else ``Progressing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kurator_apps.applications.membership import Membership
from kurator_apps.applications.render import Rendering
from shared.contracts import status as contract_status

WAITING: Final = "WaitingForFlux"


@dataclass(frozen=True, slots=True)
class Observed:
    """What the service saw on the host after writing."""

    written: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    """``(kind, name)`` -> the object as the host stored it (with any status Flux wrote)."""
    kubeconfig_problems: Mapping[str, str] = field(default_factory=dict)
    """Cluster name -> why Flux cannot use its kubeconfig Secret."""
    pruned: tuple[str, ...] = ()
    """``<Kind>/<name>`` of objects deleted because this rendering no longer has them."""


def _ready(obj: Mapping[str, Any] | None, kind: str) -> dict[str, Any]:
    if obj is None:
        return {"ready": "Unknown", "reason": "NotWritten", "message": f"the {kind} is not on the host"}
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return {
                "ready": str(condition.get("status") or "Unknown"),
                "reason": str(condition.get("reason") or ""),
                "message": str(condition.get("message") or ""),
            }
    message = f"written; the {kind} has no Ready condition yet (no Flux controller has reconciled it)"
    return {"ready": "Unknown", "reason": WAITING, "message": message}


def _condition(type_: str, ok: bool | None, reason: str, message: str, generation: int, now: str) -> dict[str, Any]:
    state: contract_status.ConditionStatus = "Unknown" if ok is None else "True" if ok else "False"
    return contract_status.condition(
        type=type_, status=state, reason=reason, message=message, generation=generation, time=now
    )


def pending(membership: Membership, *, generation: int, now: str) -> dict[str, Any]:
    """Nothing rendered: the Fleet or its members are not there (yet)."""
    message = membership.problem() or "waiting for the fleet"
    reason = "FleetNotFound" if not membership.found else "MembersMissing" if membership.missing else "NoMembers"
    return {
        "phase": "Pending",
        "observedGeneration": generation,
        "fleet": {"namespace": membership.namespace, "name": membership.fleet, "members": []},
        "syncStatus": [],
        "conditions": [_condition("Rendered", False, reason, message, generation, now)],
    }


def rendered(
    rendering: Rendering,
    observed: Observed,
    *,
    membership: Membership | None,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """The status of a written rendering (``membership`` is ``None`` for the host itself)."""
    out = rendering.status()
    source = rendering.source
    source_state = _ready(observed.written.get((source["kind"], source["metadata"]["name"])), source["kind"])
    out["sourceStatus"].update(source_state)
    states = [source_state["ready"]]
    for entry, delivery in zip(out["syncStatus"], rendering.deliveries, strict=True):
        state = _ready(observed.written.get((delivery.kind, delivery.name)), delivery.kind)
        problem = observed.kubeconfig_problems.get(delivery.cluster)
        if problem is not None and state["reason"] in (WAITING, "NotWritten"):
            state = {"ready": "Unknown", "reason": "KubeconfigSecretMissing", "message": problem}
        entry.update(state)
        states.append(state["ready"])
    if membership is not None:
        out["fleet"] = {
            "namespace": membership.namespace,
            "name": membership.fleet,
            "members": [{"name": m.name, "kind": m.kind} for m in membership.members],
        }
    if rendering.unmatched:
        out["unmatchedPolicies"] = list(rendering.unmatched)
    if observed.pruned:
        out["pruned"] = list(observed.pruned)
    if "False" in states:
        out["phase"], ready, reason = "Failed", False, "NotReady"
    elif all(s == "True" for s in states):
        out["phase"], ready, reason = "Ready", True, "Ready"
    else:
        out["phase"], ready, reason = "Progressing", None, WAITING
    waiting = sum(1 for s in states if s != "True")
    summary = f"{len(rendering.deliveries)} delivery unit(s) written; {waiting} of {len(states)} objects not ready"
    out["observedGeneration"] = generation
    out["conditions"] = [
        _condition("Rendered", True, "Written", summary, generation, now),
        _condition("Ready", ready, reason, summary if ready is not True else "all objects ready", generation, now),
    ]
    return out
