"""Would a job's whole gang fit on a member now, given what already runs there.

What is in use on a node is what bound, unfinished pods request (:func:`shared.gang.fit.allocated_by_node`)
plus the gangs of Volcano jobs on the member that hold resources but whose pods cannot be
seen yet: Volcano creates a job's pods only after its gang was admitted, and a job we have
just written has none for a while, so counting pods alone would let two gangs be placed on
room that exists once. Such jobs are placed, in creation order, as the scheduler would
(:mod:`shared.gang.packing`); a job whose gang does not fit holds nothing, as in Volcano.
Finished jobs hold nothing either.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from kurator_apps.batch.ports import MemberState
from shared.gang import fit, packing
from shared.gang.nodes import Node
from shared.gang.pods import gang_of

FINISHED: Final = frozenset({"Completed", "Failed", "Terminated", "Aborted"})
_JOB_NAME_LABEL: Final = "volcano.sh/job-name"


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _phase(job: Mapping[str, Any]) -> str:
    return str(((job.get("status") or {}).get("state") or {}).get("phase") or "")


def _with_pods(state: MemberState) -> set[tuple[str, str]]:
    """Jobs (namespace, name) that have pods of their own on the member."""
    found = set()
    for pod in state.pods:
        meta = pod.get("metadata") or {}
        job = (meta.get("labels") or {}).get(_JOB_NAME_LABEL)
        if job:
            found.add((str(meta.get("namespace") or ""), str(job)))
    return found


def _order(job: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = job.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), *_key(job))


def in_use(state: MemberState, *, exclude: tuple[str, str] | None = None) -> dict[str, dict[str, Decimal]]:
    """Per node name, what is reserved there (pods, and the gangs of pod-less active jobs)."""
    nodes = packing.states([Node.from_dict(n) for n in state.nodes], fit.allocated_by_node(state.pods))
    visible = _with_pods(state)
    for job in sorted(state.jobs, key=_order):
        key = _key(job)
        if key == exclude or key in visible or _phase(job) in FINISHED:
            continue
        gang = gang_of(job)
        trial = packing.copy_states(nodes)
        if packing.place(trial, gang.pods).ok:
            packing.place(trial, gang.rest, stop_at_first_failure=False)
            nodes = trial
    return {n.name: n.used for n in nodes}


def fit_on(job: Mapping[str, Any], state: MemberState) -> fit.GangFit:
    """The gang fit of ``job`` on the member, not counting a copy of ``job`` already there."""
    return fit.fit_job(job, state.nodes, allocated=in_use(state, exclude=_key(job)))
