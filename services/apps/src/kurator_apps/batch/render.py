"""The objects written to the chosen member: the Volcano ``Job`` as the user gave it, and its ``Queue``.

The member ``Job`` is the accepted document without the metadata our store owns (uid,
generation, creation time: the member sets its own), labelled so the follower's watch selects
exactly the jobs we wrote. A queue the user declared with a ``Queue`` intent is written with
that spec; a queue nobody declared is created as Volcano's own ``default`` queue is (weight 1,
reclaimable), so a job naming it can be admitted.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

MANAGED_BY: Final = "app.kubernetes.io/managed-by"
GENERATION: Final = "apps.kurator.dev/generation"
"""Annotation: the generation of our desired state the member object was written from."""
DEFAULT_QUEUE: Final = "default"
_OURS: Final = ("uid", "generation", "creationTimestamp", "resourceVersion", "managedFields")


def member_job(document: Mapping[str, Any], *, generation: int, manager: str) -> dict[str, Any]:
    meta = {k: v for k, v in (document.get("metadata") or {}).items() if k not in _OURS}
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY: manager}
    meta["annotations"] = {**(meta.get("annotations") or {}), GENERATION: str(generation)}
    body = {k: v for k, v in document.items() if k not in ("metadata", "status")}
    return {**body, "metadata": meta}


def queue_name(job: Mapping[str, Any]) -> str:
    return str((job.get("spec") or {}).get("queue") or DEFAULT_QUEUE)


def member_queue(name: str, declared: Mapping[str, Any] | None, *, manager: str) -> dict[str, Any]:
    """The ``Queue`` to write: the declared one's spec, else Volcano's defaults."""
    spec = dict((declared or {}).get("spec") or {"weight": 1, "reclaimable": True})
    return {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "Queue",
        "metadata": {"name": name, "labels": {MANAGED_BY: manager}},
        "spec": spec,
    }


def queue_state(queue: Mapping[str, Any] | None) -> str | None:
    """``Open``/``Closed``/``Closing``/``Unknown`` as Volcano reports it (``None``: not reported yet)."""
    if queue is None:
        return None
    state = (queue.get("status") or {}).get("state")
    return str(state) if state else None


def _changed(path: str, want: Any, have: Any, out: list[str]) -> None:
    """The paths under ``path`` where ``want`` (what the user gave) differs from ``have``; keys only
    ``have`` holds (defaults Volcano filled in) are not differences."""
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        for key, value in want.items():
            _changed(f"{path}.{key}", value, have.get(key), out)
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            _changed(f"{path}[{i}]", w, h, out)
    elif want != have and not (isinstance(want, (int, float)) and str(want) == str(have)):
        out.append(path)


def member_update(
    document: Mapping[str, Any], existing: Mapping[str, Any], *, generation: int, manager: str
) -> tuple[dict[str, Any], list[str]]:
    """The body that updates a job already on its member, and the immutable fields the user changed.

    Volcano's webhook lets an existing job change only ``minAvailable`` and each task's
    ``replicas``, and its mutating webhook filled defaults in on creation (queue, scheduler,
    plugins, task ``minAvailable``...) that a re-apply of the user's document would remove. So
    the update is the member's spec with those two kinds of fields taken from the user, and any
    other field the user changed is reported (as ``spec.tasks[1].template...`` paths).
    """
    spec = dict(document.get("spec") or {})
    current = copy.deepcopy(dict(existing.get("spec") or {}))
    changed: list[str] = []
    mutable = {**spec, "minAvailable": current.get("minAvailable")}
    tasks = [dict(t) for t in spec.get("tasks") or ()]
    have_tasks = current.get("tasks") or []
    same_tasks = len(tasks) == len(have_tasks)
    if same_tasks:
        mutable["tasks"] = [{**t, "replicas": h.get("replicas")} for t, h in zip(tasks, have_tasks, strict=True)]
    else:
        changed.append("spec.tasks")
        mutable.pop("tasks", None)
    _changed("spec", mutable, current, changed)
    if same_tasks:
        for task, have in zip(tasks, have_tasks, strict=True):
            have["replicas"] = task.get("replicas", have.get("replicas"))
    if "minAvailable" in spec:
        current["minAvailable"] = spec["minAvailable"]
    body = member_job({**document, "spec": current}, generation=generation, manager=manager)
    return body, changed
