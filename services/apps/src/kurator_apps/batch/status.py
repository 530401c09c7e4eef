"""The status of a Volcano job as the apps service publishes it.

Placed: ``cluster``, ``phase`` (the member job's, except that a ``Pending`` job whose PodGroup
Volcano has already enqueued shows ``Inqueue``: the gang was admitted and waits for its pods),
pod counts, ``tasks`` (per task, pods per phase), Volcano's own condition when the gang is held
back (the PodGroup's ``Unschedulable`` message, which says what is short), and ``Scheduled``.

Waiting: ``phase: Waiting``, ``Scheduled=False`` naming every member and what it lacks, and
``shortfall`` per member (resource, needed, free, short: :meth:`shared.gang.shortfall.Shortfall.to_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kurator_apps.batch.choice import Decision
from shared.contracts import status

WAITING: Final = "Waiting"
PENDING: Final = "Pending"
INQUEUE: Final = "Inqueue"
_COUNTS: Final = ("pending", "running", "succeeded", "failed", "terminating", "unknown")


@dataclass(frozen=True, slots=True)
class Move:
    """A job taken off a failing member (see :meth:`kurator_apps.batch.placing.Placer.evict`)."""

    cluster: str
    taint: str
    """Karmada's ``NoExecute`` taint on it: ``cluster.karmada.io/not-ready`` or ``.../unreachable``."""
    at: str

    def condition(self, *, generation: int) -> dict[str, Any]:
        return status.condition(
            type="Rescheduled",
            status="True",
            reason="ClusterFailed",
            message=f"moved off {self.cluster}, which Karmada tainted {self.taint}:NoExecute (the whole gang restarts)",
            generation=generation,
            time=self.at,
        )


def member_phase(job: Mapping[str, Any] | None, podgroup: Mapping[str, Any] | None) -> str:
    phase = str((((job or {}).get("status") or {}).get("state") or {}).get("phase") or PENDING)
    if phase == PENDING and ((podgroup or {}).get("status") or {}).get("phase") == INQUEUE:
        return INQUEUE
    return phase


def _tasks(job: Mapping[str, Any] | None) -> dict[str, dict[str, int]]:
    counts = ((job or {}).get("status") or {}).get("taskStatusCount") or {}
    return {str(task): dict((entry or {}).get("phase") or {}) for task, entry in sorted(counts.items())}


def _held_back(podgroup: Mapping[str, Any] | None, phase: str) -> dict[str, Any] | None:
    if phase not in (PENDING, INQUEUE):
        return None
    for condition in ((podgroup or {}).get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Unschedulable" and condition.get("status") == "True":
            return dict(condition)
    return None


def placed(
    *,
    cluster: str,
    generation: int,
    job: Mapping[str, Any] | None,
    podgroup: Mapping[str, Any] | None,
    now: str,
    moved: Move | None = None,
) -> dict[str, Any]:
    phase = member_phase(job, podgroup)
    job_status = (job or {}).get("status") or {}
    since = str((job_status.get("state") or {}).get("lastTransitionTime") or now)
    conditions = [
        status.condition(
            type="Scheduled",
            status="True",
            reason="GangFits",
            message=f"the whole gang fits on {cluster}; the job was written there",
            generation=generation,
            time=now,
        )
    ]
    if moved is not None:
        conditions.append(moved.condition(generation=generation))
    held = _held_back(podgroup, phase)
    if held is not None:
        conditions.append(
            status.condition(
                type="GangAdmitted",
                status="False",
                reason=str(held.get("reason") or "Unschedulable"),
                message=str(held.get("message") or ""),
                generation=generation,
                time=str(held.get("lastTransitionTime") or now),
            )
        )
    body: dict[str, Any] = {
        "phase": phase,
        "observedGeneration": generation,
        "cluster": cluster,
        "minAvailable": job_status.get("minAvailable"),
        "tasks": _tasks(job),
        "conditions": conditions,
        "lastTransitionTime": since,
    }
    body.update({k: job_status[k] for k in _COUNTS if job_status.get(k)})
    if job_status.get("runningDuration"):
        body["runningDuration"] = job_status["runningDuration"]
    return {k: v for k, v in body.items() if v is not None}


def waiting(
    *, generation: int, decision: Decision, now: str, since: str | None = None, moved: Move | None = None
) -> dict[str, Any]:
    message = f"no member cluster can hold the whole gang now: {decision.summary()}"
    conditions = [
        status.condition(
            type="Scheduled",
            status="False",
            reason="InsufficientCapacity",
            message=message,
            generation=generation,
            time=since or now,
        )
    ]
    if moved is not None:
        conditions.append(moved.condition(generation=generation))
    return {
        "phase": WAITING,
        "observedGeneration": generation,
        "shortfall": dict(sorted(decision.refusals.items())),
        "conditions": conditions,
    }


def gone(body: Mapping[str, Any], *, cluster: str, generation: int, now: str) -> dict[str, Any]:
    """``body`` with ``OnMember=False``: the job was deleted from its member by someone else.

    Not re-created on our own: a finished job removed by its ``ttlSecondsAfterFinished`` would
    run again. Applying the intent again writes it back to the same member.
    """
    conditions = [c for c in body.get("conditions") or () if c.get("type") != "OnMember"]
    conditions.append(
        status.condition(
            type="OnMember",
            status="False",
            reason="DeletedOnMember",
            message=f"the job is no longer on {cluster} (deleted there); apply it again to re-create it",
            generation=generation,
            time=now,
        )
    )
    return {**body, "conditions": conditions}


def deleted_on_member(body: Mapping[str, Any]) -> bool:
    """Whether ``body`` says (:func:`gone`) that the job was deleted from its member by someone else."""
    return any(c.get("type") == "OnMember" and c.get("status") == "False" for c in body.get("conditions") or ())


def cluster_of(body: Mapping[str, Any] | None) -> str | None:
    found = (body or {}).get("cluster")
    return str(found) if found else None
