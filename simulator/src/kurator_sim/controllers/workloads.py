"""The members' kube-controller-manager for Deployments: pods that start, if the nodes hold them.

No pods exist; a Deployment's status is derived from where its pods would run
(:mod:`.kube_capacity`). When a new generation is observed the status shows all replicas
updated and none ready; ``ready_delay`` simulated seconds later (default 2 s) the pods that the
member's nodes can hold become ready and available. The conditions are the deployment
controller's: ``Available`` (``MinimumReplicasAvailable`` once at most ``maxUnavailable``,
default 25 %, are unavailable; else ``MinimumReplicasUnavailable``) and ``Progressing``
(``ReplicaSetUpdated`` while rolling out, ``NewReplicaSetAvailable`` when every replica is
available, ``ProgressDeadlineExceeded`` after ``progressDeadlineSeconds``, default 600 s). A
member that is down changes nothing until it is back.
"""

from __future__ import annotations

import asyncio
import heapq
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kurator_sim.controllers import karmada_names, kube_capacity, kube_conditions, kube_workqueue
from kurator_sim.controllers.karmada_names import DEPLOYMENTS, NODES, safe_encode
from kurator_sim.fleet import Fleet, Member
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]

DOWN_POLL_SECONDS = 2.0
"""How often a down member is looked at again (it sends no events)."""
COALESCE_SECONDS = 0.5
"""Events are handled by one sync of the member at the next multiple of this many simulated
seconds: the same instants for every member, so a rollout that reaches several members at once
has their statuses posted together (and Karmada's status controller collects them in one go)."""


_Key = tuple[str, str, str]
"""``(member, namespace, name)`` of a Deployment."""


@dataclass(frozen=True, slots=True)
class _Progress:
    uid: str
    generation: int
    started: float
    replica_set: str
    replicas: int
    max_unavailable: int
    deadline: int
    """``spec.replicas``, ``maxUnavailable`` and ``progressDeadlineSeconds`` of this generation
    (a new specification is a new generation: read once, not on every status)."""


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def max_unavailable(deployment: Mapping[str, Any], replicas: int) -> int:
    """``deploymentutil.MaxUnavailable``: from ``rollingUpdate.maxUnavailable`` (default 25 %, rounded down)."""
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    raw = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    percent = isinstance(raw, str) and raw.endswith("%")
    value = _int(str(raw)[:-1]) * replicas // 100 if percent else _int(raw)
    return min(max(value, 0), replicas)


def replica_set_name(deployment: Mapping[str, Any]) -> str:
    """``<name>-<pod-template-hash>``: a new name for every new template, stable for one.

    Kubernetes hashes Go's printout of the template with FNV-32a, which no Python rendering
    reproduces, so the digest here is CRC-32 of the canonical JSON: the same guarantees, in C
    (FNV in pure Python cost ~100 us per kilobyte template, paid on every new generation).
    """
    template = ((deployment.get("spec") or {}).get("template")) or {}
    digest = zlib.crc32(karmada_names.canonical_json(template).encode())
    return f"{deployment['metadata']['name']}-{safe_encode(str(digest))}"


class DeploymentController:
    def __init__(self, *, fleet: Fleet, ready_delay: float = 2.0) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.ready_delay = ready_delay
        self._progress: dict[_Key, _Progress] = {}
        self._timers: dict[str, dict[tuple[str, str], float]] = {}
        """Per member: when to look at a Deployment again (sim seconds)."""
        self._due: dict[str, list[tuple[float, tuple[str, str]]]] = {}
        """Per member: ``_timers`` as a heap (entries that no longer match ``_timers`` are skipped)."""
        self._dirty: dict[str, set[tuple[str, str]]] = {}
        self._demands: dict[str, kube_capacity.DemandCache] = {}
        self._seen: dict[tuple[str, tuple[str, str], str, str], Any] = {}
        self._armed: set[str] = set()
        self._packings: dict[str, kube_capacity.Packing] = {}
        """The last packing of each member, kept (while watching) until an event may change it."""
        self._repack: set[str] = set()
        self._watching = False

    async def run(self) -> None:
        self._progress, self._timers, self._dirty, self._due = {}, {}, {}, {}
        self._seen, self._armed, self._packings, self._repack = {}, set(), {}, set()
        self._demands = {name: kube_capacity.DemandCache() for name in self.fleet.members}
        queue: kube_workqueue.WorkQueue[str] = kube_workqueue.WorkQueue(self.clock)
        self._watching = True
        try:
            async with asyncio.TaskGroup() as tg:
                for member in self.fleet.members.values():
                    for key in (DEPLOYMENTS, NODES, ("batch.volcano.sh", "jobs"), ("", "pods")):
                        try:
                            rt = member.store.registry.by_key(key)
                        except KeyError:
                            continue
                        tg.create_task(kube_workqueue.watch(member.store, rt, self._on_event(queue, member.name, key)))
                tg.create_task(
                    kube_workqueue.drain(queue, self._sync_member(queue), controller="deployment-controller")
                )
        finally:
            self._watching = False
            queue.close()

    def _on_event(
        self, queue: kube_workqueue.WorkQueue[str], member: str, key: tuple[str, str]
    ) -> Callable[[WatchEvent], None]:
        """Wake the member's sync, but not for writes that change nothing it reads (its own status writes)."""

        def on_event(event: WatchEvent) -> None:
            obj = event.object
            meta = obj["metadata"]
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name"))
            if key == DEPLOYMENTS:
                relevant: Any = (meta.get("uid"), meta.get("generation"), meta.get("deletionTimestamp"))
            elif key == NODES:
                status, spec = obj.get("status") or {}, obj.get("spec") or {}
                relevant = (
                    meta.get("labels"),
                    status.get("allocatable"),
                    status.get("capacity"),
                    kube_conditions.status_of(obj, "Ready"),
                    spec.get("taints"),
                    spec.get("unschedulable"),
                )
            else:
                relevant = meta.get("resourceVersion")
            seen_key = (member, key, namespace, name)
            if event.type == "DELETED":
                self._seen.pop(seen_key, None)
                if key == DEPLOYMENTS:
                    self._progress.pop((member, namespace, name), None)
                    self._timers.get(member, {}).pop((namespace, name), None)
                    self._dirty.get(member, set()).discard((namespace, name))
            elif self._seen.get(seen_key) == relevant:
                return
            else:
                self._seen[seen_key] = relevant
                if key == DEPLOYMENTS:
                    self._dirty.setdefault(member, set()).add((namespace, name))
            self._repack.add(member)
            if member not in self._armed:
                self._armed.add(member)
                now = self.clock.elapsed()
                queue.add_after(member, COALESCE_SECONDS - now % COALESCE_SECONDS)

        return on_event

    def _sync_member(self, queue: kube_workqueue.WorkQueue[str]) -> Callable[[str], None]:
        def sync(name: str) -> None:
            self._armed.discard(name)
            member = self.fleet.members[name]
            if member.faults.down:
                queue.add_after(name, DOWN_POLL_SECONDS)
                return
            wake = self.sync_member(member)
            if wake is not None:
                queue.add_after(name, wake)

        return sync

    def sync_member(self, member: Member) -> float | None:
        """Update the Deployments whose status may have changed; returns when to look again (sim seconds).

        Those are the ones with a new specification, whose scheduled pods changed (nodes or other
        workloads moved), or whose readiness delay or progress deadline has just run out.
        """
        store = member.store
        rt = store.registry.by_key(DEPLOYMENTS)
        packing = self._packings.get(member.name) if self._watching else None
        now = self.clock.elapsed()
        timers = self._timers.setdefault(member.name, {})
        todo = self._dirty.pop(member.name, set())
        if packing is None or member.name in self._repack:
            # Only what passed _on_event's filter changes where pods run; a wake-up for a
            # readiness timer alone finds the packing as it was.
            self._repack.discard(member.name)
            cache = self._demands.setdefault(member.name, kube_capacity.DemandCache())
            packing = self._packings[member.name] = kube_capacity.member_packing(store, cache)
            # Whose scheduled pods changed: the packer says which workloads it moved since the
            # packing before (every sync packs with this member's cache); a new packer (the
            # nodes changed) may have moved any.
            moved: Iterable[kube_capacity.WorkloadKey] = packing.changed or ()
            if packing.changed is None:
                known = [("Deployment", ns, n) for (m, ns, n) in self._progress if m == member.name]
                moved = [*packing.scheduled, *known]
            todo.update((k[1], k[2]) for k in moved if k[0] == "Deployment")
        due = self._due.setdefault(member.name, [])
        # Timers come due in order: a heap, not a look at every Deployment's timer on each sync.
        while due and due[0][0] <= now + 1e-6:
            at, timer = heapq.heappop(due)
            if timers.get(timer) == at:
                todo.add(timer)
        for namespace, name in sorted(todo):
            key = (member.name, namespace, name)
            timers.pop((namespace, name), None)
            # Read only: the status is built anew.
            deployment = store.peek(rt, namespace or None, name)
            if deployment is None or deployment["metadata"].get("deletionTimestamp"):
                continue
            progress = self._track(key, deployment, now)
            scheduled = min(packing.scheduled_of(("Deployment", namespace, name)), progress.replicas)
            status, next_look = self._status(deployment, progress, scheduled, now)
            if status != (deployment.get("status") or {}):
                store.replace_status(rt, namespace or None, name, deployment, status)
            if next_look is not None:
                timers[(namespace, name)] = now + next_look
                heapq.heappush(due, (now + next_look, (namespace, name)))
        return self._next_due(timers, due, now)

    @staticmethod
    def _next_due(
        timers: dict[tuple[str, str], float], due: list[tuple[float, tuple[str, str]]], now: float
    ) -> float | None:
        """Sim seconds until the first timer; drops heap entries of timers since reset or removed."""
        if len(due) > 4 * len(timers) + 64:
            due[:] = [(at, key) for key, at in timers.items()]
            heapq.heapify(due)
        while due and timers.get(due[0][1]) != due[0][0]:
            heapq.heappop(due)
        return max(0.0, due[0][0] - now) if due else None

    def _track(self, key: _Key, deployment: Obj, now: float) -> _Progress:
        """When the current generation started rolling out (by this controller's clock)."""
        meta = deployment["metadata"]
        generation = _int(meta.get("generation"), 1)
        progress = self._progress.get(key)
        if progress is None or progress.uid != meta.get("uid") or progress.generation != generation:
            observed = _int((deployment.get("status") or {}).get("observedGeneration"))
            already = progress is None and observed == generation
            spec = deployment.get("spec") or {}
            replicas = 1 if spec.get("replicas") is None else _int(spec.get("replicas"))
            progress = _Progress(
                str(meta.get("uid")),
                generation,
                now - self.ready_delay if already else now,
                replica_set_name(deployment),
                replicas,
                max_unavailable(deployment, replicas),
                _int(spec.get("progressDeadlineSeconds"), 600),
            )
            self._progress[key] = progress
        return progress

    def _status(self, deployment: Obj, progress: _Progress, scheduled: int, now: float) -> tuple[Obj, float | None]:
        old = deployment.get("status") or {}
        replicas, deadline = progress.replicas, progress.deadline
        matured = now - progress.started >= self.ready_delay
        ready = scheduled if matured else min(scheduled, _int(old.get("readyReplicas")))
        rs = progress.replica_set
        if ready >= replicas:
            progressing = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.')
        elif now - progress.started > deadline:
            progressing = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs}" has timed out progressing.')
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.')
        available = _AVAILABLE if ready >= replicas - progress.max_unavailable else _UNAVAILABLE
        status: Obj = {"observedGeneration": progress.generation}
        # The counters the API shows, zeros left out (omitempty), in the deployment controller's order.
        if replicas:
            status["replicas"] = status["updatedReplicas"] = replicas
        if ready:
            status["readyReplicas"] = status["availableReplicas"] = ready
        if replicas - ready:
            status["unavailableReplicas"] = replicas - ready
        # Called only if a condition changes.
        status["conditions"] = _conditions(old.get("conditions") or [], available, progressing, self.clock.timestamp)
        next_look: float | None = None
        if not matured:
            next_look = progress.started + self.ready_delay - now
        elif ready < replicas and now - progress.started <= deadline:
            next_look = progress.started + deadline - now + 1.0
        return status, next_look


_AVAILABLE = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
_UNAVAILABLE = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
_RANK = {"Available": 0, "Progressing": 1}
"""The deployment controller's conditions come first, in this order; any others keep theirs after them."""


def _conditions(
    conditions: list[Obj], available: tuple[str, str, str], progressing: tuple[str, str, str], stamp: Callable[[], str]
) -> list[Obj]:
    """``conditions`` with ``Available`` and ``Progressing`` set (``kube_conditions.set_condition``'s rules).

    Unchanged (status, reason and message alike), the list itself is returned; else a new one
    whose changed conditions carry ``lastUpdateTime`` now, and ``lastTransitionTime`` now if their
    status changed. Conditions that did not change are shared with the old list (read only).
    """
    first: dict[str, Obj] = {}
    for cond in conditions:
        type_ = cond.get("type")
        if type_ in _RANK and type_ not in first:
            first[str(type_)] = cond
    replaced: dict[int, Obj] = {}
    added: list[Obj] = []
    now = ""
    for type_, (value, reason, message) in (("Available", available), ("Progressing", progressing)):
        existing = first.get(type_)
        if existing is not None and (
            existing.get("status") == value and existing.get("reason") == reason and existing.get("message") == message
        ):
            continue
        now = now or stamp()
        same = existing is not None and existing.get("status") == value
        transition = existing.get("lastTransitionTime") if existing is not None and same else None
        new = kube_conditions.condition(type_, value, reason, message, lastUpdateTime=now)
        new["lastTransitionTime"] = transition or now
        if existing is None:
            added.append(new)
        else:
            replaced[id(existing)] = new
    if not now:
        return conditions
    out = [replaced.get(id(cond), cond) for cond in conditions]
    out.extend(added)
    out.sort(key=lambda c: _RANK.get(str(c.get("type")), 2))
    return out
