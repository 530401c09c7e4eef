"""Choosing the member cluster for a gang, or saying why none can hold it.

Candidates are the members Karmada reports ``Ready`` whose state could be read. A member is
*eligible* when the job's queue there is usable (absent - we create it - or ``Open``; a
``Closed``/``Closing`` queue refuses jobs) and the whole gang fits its nodes now
(:mod:`kurator_apps.batch.capacity`). Among eligible members the one with the most headroom
wins (:func:`shared.gang.fit.rank_clusters`: the largest share of the bottleneck resource left
free once the gang runs, ties by name), so the decision is deterministic and leaves the most
room for the next gang. With no eligible member the job waits, and the decision says, per
member, which resource is short and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kurator_apps.batch import capacity, render
from kurator_apps.batch.ports import MemberState
from shared.gang import fit


@dataclass(frozen=True, slots=True)
class Decision:
    cluster: str | None
    """Where the job goes; ``None``: it waits."""
    fits: Mapping[str, fit.GangFit] = field(default_factory=dict)
    refusals: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per member that cannot take the job: why (shortfall dicts, or a queue/reachability reason)."""

    def summary(self) -> str:
        """One line for a condition message: each member and its first reason."""
        parts = []
        for cluster, reasons in sorted(self.refusals.items()):
            parts.append(f"{cluster}: {'; '.join(r['message'] for r in reasons)}")
        return " | ".join(parts) if parts else "no member cluster is ready"


def _queue_refusal(job: Mapping[str, Any], state: MemberState) -> dict[str, Any] | None:
    name = render.queue_name(job)
    queue_state = render.queue_state(state.queues.get(name))
    if queue_state is None or queue_state == "Open":
        return None
    return {"kind": "QueueNotOpen", "queue": name, "message": f"queue {name} is {queue_state} on this cluster"}


def decide(
    job: Mapping[str, Any], states: Mapping[str, MemberState], unreachable: Mapping[str, str] | None = None
) -> Decision:
    """``states``: the ready members read now; ``unreachable``: ready members whose read failed, with the error."""
    fits: dict[str, fit.GangFit] = {}
    refusals: dict[str, list[dict[str, Any]]] = {
        cluster: [{"kind": "Unreachable", "message": f"could not be read: {error}"}]
        for cluster, error in (unreachable or {}).items()
    }
    for cluster, state in states.items():
        refused = _queue_refusal(job, state)
        if refused is not None:
            refusals[cluster] = [refused]
            continue
        fits[cluster] = found = capacity.fit_on(job, state)
        if not found.fits:
            refusals[cluster] = [s.to_dict() for s in found.shortfalls]
    return Decision(cluster=fit.choose_cluster(fits), fits=fits, refusals=refusals)
