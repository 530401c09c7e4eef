"""Karmada's work-status and binding-status controllers: member status flows back to the host.

For each ``Work`` of a binding whose member is reachable, the member object's status is
reflected into ``Work.status.manifestStatuses`` (``status`` per the resource interpreter's
``ReflectStatus``, ``health`` per ``InterpretHealth``); a member object that disappeared while
its ``Work`` says applied is recreated, as Karmada's work status controller does. Unreachable
members keep their last reported status. The binding then gets ``status.aggregatedStatus``
(one item per ``Work``, sorted by cluster: ``clusterName``, ``applied``, ``appliedMessage``,
``health`` and ``status``) and the ``FullyApplied`` condition (``FullyAppliedSuccess`` "All works
have been successfully applied" / ``FullyAppliedFailed``), and the resource template in the host
gets the aggregated status (``AggregateStatus``; Deployments: replica counters summed).
Triggers: bindings (specification changes only) and works in the host (not this controller's own
manifest status writes), and every propagated object in the members. A new binding's first
aggregation waits for the first status of its member Deployments (its post is the next
trigger) instead of reflecting none; later ones reflect every change at once. Changes within
``MEMBER_COALESCE_SECONDS`` of the first are handled by one reconcile (a new binding is
scheduled, gets its works and has them applied within moments: one aggregation then, not one
status write for each step on the way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from kurator_sim.controllers import karmada_execution, karmada_interpreter, kube_conditions, kube_workqueue
from kurator_sim.controllers.karmada_binding import APPLIED, BindingKey, work_of
from kurator_sim.controllers.karmada_names import (
    CLUSTER_RESOURCE_BINDINGS,
    CLUSTERS,
    CRB_NAME,
    RB_NAME,
    RB_NAMESPACE,
    RESOURCE_BINDINGS,
    WORKS,
    cluster_of,
    execution_space,
    split_api_version,
)
from kurator_sim.fleet import Fleet
from kurator_sim.resources import ResourceType
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]

MEMBER_COALESCE_SECONDS = 0.1
"""Changes within this long (simulated seconds) of the first are collected together: the members'
Deployment controllers post the same rollout's statuses within moments of each other, as the
scheduler and the binding controller move a new binding on, and one reconcile then writes the
binding and template status once, not once per member or step."""

FULLY_APPLIED = "FullyApplied"
FULLY_APPLIED_SUCCESS = ("FullyAppliedSuccess", "All works have been successfully applied")
FULLY_APPLIED_FAILED = ("FullyAppliedFailed", "Failed to apply all works, see status.aggregatedStatus for details")


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The object's annotations themselves (read only: no copy for a lookup on every event)."""
    return (obj.get("metadata") or {}).get("annotations") or {}


def _binding_key(annotations: Mapping[str, str]) -> BindingKey | None:
    if annotations.get(RB_NAME) and annotations.get(RB_NAMESPACE):
        return (RESOURCE_BINDINGS, annotations[RB_NAMESPACE], annotations[RB_NAME])
    if annotations.get(CRB_NAME):
        return (CLUSTER_RESOURCE_BINDINGS, "", annotations[CRB_NAME])
    return None


def awaiting_status(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a member Deployment its controller has not yet posted a status for.

    The members' Deployment controller posts one for every new Deployment (within
    ``workloads.COALESCE_SECONDS``), and the work status controller would reflect only the
    moment between: no status, soon replaced. (Members that are down or partitioned are not
    read at all.)
    """
    if (obj.get("apiVersion"), obj.get("kind")) != karmada_interpreter.DEPLOYMENT:
        return False
    return not (obj.get("status") or {}).get("observedGeneration")


class BindingStatusController:
    def __init__(self, *, fleet: Fleet, retry_seconds: float = 5.0) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.registry = fleet.host_registry
        self.retry_seconds = retry_seconds
        self.works_rt = self.registry.by_key(WORKS)
        self.binding_rts = {key: self.registry.by_key(key) for key in (RESOURCE_BINDINGS, CLUSTER_RESOURCE_BINDINGS)}
        self._queue: kube_workqueue.WorkQueue[BindingKey] = kube_workqueue.WorkQueue(self.clock)
        self._member_watches: set[tuple[str, str]] = set()
        self._member_kinds: set[tuple[Any, Any]] = set()
        """``(apiVersion, kind)`` of the templates whose member copies are watched (or are not member kinds)."""
        self._generations: dict[BindingKey, tuple[Any, Any, Any]] = {}
        """Per binding: the ``(uid, generation, deletionTimestamp)`` last seen (status writes change nothing here)."""
        self._own_writes: dict[tuple[str, str], str] = {}
        """Per ``Work`` (namespace, name): the resource version of this controller's last status write."""
        self._collected: dict[tuple[str, str], tuple[Obj, Obj]] = {}
        """Per ``Work``: the stored Work and member object its manifest status was last made from
        (stored versions are never changed in place, so the same two objects give the same status)."""
        self._soon: dict[BindingKey, asyncio.TimerHandle] = {}
        """Bindings to reconcile once ``MEMBER_COALESCE_SECONDS`` are up (a reconcile before that cancels)."""
        self._waiting: dict[BindingKey, asyncio.TimerHandle] = {}
        """Bindings whose first aggregation waits for a member's first status, each reconciled anyway
        once ``retry_seconds`` are up (a member controller that never posts must not hold it forever)."""
        self._waited_out: set[BindingKey] = set()
        """Bindings whose wait is over: their next aggregation waits for no member."""
        self._tg: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        self._queue = kube_workqueue.WorkQueue(self.clock)
        self._member_watches, self._member_kinds = set(), set()
        self._generations, self._own_writes, self._collected = {}, {}, {}
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for key, rt in self.binding_rts.items():
                    tg.create_task(kube_workqueue.watch(self.host, rt, self._on_binding(key)))
                tg.create_task(kube_workqueue.watch(self.host, self.works_rt, self._on_work))
                tg.create_task(
                    kube_workqueue.drain(self._queue, self.reconcile, controller="binding-status-controller")
                )
        finally:
            self._tg = None
            self._queue.close()
            for handle in [*self._soon.values(), *self._waiting.values()]:
                handle.cancel()
            self._soon, self._waiting, self._waited_out = {}, {}, set()

    # --- events -----------------------------------------------------------------------------

    def _on_binding(self, rt_key: tuple[str, str]) -> Callable[[WatchEvent], None]:
        def on_event(event: WatchEvent) -> None:
            meta = event.object["metadata"]
            key: BindingKey = (rt_key, str(meta.get("namespace") or ""), str(meta["name"]))
            if event.type == "DELETED":
                self._generations.pop(key, None)
                return
            # What a reconcile writes follows from the binding's spec, its works and the member
            # objects, never from the binding's status (which it only merges into): status
            # writes, the scheduler's and this controller's own, need no reconcile.
            seen = (meta.get("uid"), meta.get("generation"), meta.get("deletionTimestamp"))
            if self._generations.get(key) == seen:
                return
            self._generations[key] = seen
            resource = (event.object.get("spec") or {}).get("resource") or {}
            kind = (resource.get("apiVersion"), resource.get("kind"))
            if kind not in self._member_kinds and self._tg is not None:
                self._member_kinds.add(kind)
                self._watch_members(str(kind[0] or ""), str(kind[1] or ""))
            self._reconcile_soon(key)

        return on_event

    def _on_work(self, event: WatchEvent) -> None:
        meta = event.object["metadata"]
        work = (str(meta.get("namespace") or ""), str(meta["name"]))
        if event.type == "DELETED":
            self._own_writes.pop(work, None)
            self._collected.pop(work, None)
        elif self._own_writes.get(work) == meta.get("resourceVersion"):
            return  # this controller's own manifest status write: the reconcile that made it used it
        self._on_annotated(event)

    def _on_annotated(self, event: WatchEvent) -> None:
        key = _binding_key(_annotations(event.object))
        if key is not None:
            self._reconcile_soon(key)

    def _watch_members(self, api_version: str, kind: str) -> None:
        group, version = split_api_version(api_version)
        rt = self.fleet.member_registry.by_kind(group, version, kind)
        if rt is None or rt.key in self._member_watches or self._tg is None:
            return
        self._member_watches.add(rt.key)
        for member in self.fleet.members.values():
            member_rt: ResourceType = member.store.registry.by_key(rt.key)
            self._tg.create_task(kube_workqueue.watch(member.store, member_rt, self._on_member_object))

    def _on_member_object(self, event: WatchEvent) -> None:
        key = _binding_key(_annotations(event.object))
        if key is not None:
            self._reconcile_soon(key)

    def _reconcile_soon(self, key: BindingKey) -> None:
        if key in self._soon:
            return
        loop = asyncio.get_running_loop()
        self._soon[key] = loop.call_later(self.clock.real_seconds(MEMBER_COALESCE_SECONDS), self._due, key)

    def _due(self, key: BindingKey) -> None:
        if self._soon.pop(key, None) is not None:
            self._queue.add(key)

    def _wait_for_member(self, key: BindingKey) -> None:
        if key not in self._waiting:
            loop = asyncio.get_running_loop()
            self._waiting[key] = loop.call_later(self.clock.real_seconds(self.retry_seconds), self._wait_over, key)

    def _wait_over(self, key: BindingKey) -> None:
        if self._waiting.pop(key, None) is not None:
            self._waited_out.add(key)
            self._queue.add(key)

    def _done_waiting(self, key: BindingKey) -> None:
        handle = self._waiting.pop(key, None)
        if handle is not None:
            handle.cancel()
        self._waited_out.discard(key)

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: BindingKey) -> None:
        handle = self._soon.pop(key, None)
        if handle is not None:
            handle.cancel()  # this reconcile reads the member objects as they are now
        rt_key, namespace, name = key
        rt = self.binding_rts[rt_key]
        # Read-only views of stored objects here (statuses are built anew and the store copies them).
        binding = self.host.peek(rt, namespace or None, name)
        if binding is None:
            self._done_waiting(key)
            return
        bmeta = binding["metadata"]
        # Worked from here on: a spec write's event that comes later is old news.
        self._generations[key] = (bmeta.get("uid"), bmeta.get("generation"), bmeta.get("deletionTimestamp"))
        wname = work_of(binding)
        spec = binding.get("spec") or {}
        items: list[Obj] = []
        stale = False
        # Only a binding's first aggregation waits for its members' first statuses, for at most
        # retry_seconds: nothing aggregated before can be left showing (a later one shows an
        # update at once, Unhealthy).
        first = not (binding.get("status") or {}).get("aggregatedStatus") and key not in self._waited_out
        for cluster in list(self.host.iter_raw(self.registry.by_key(CLUSTERS))):
            cluster_name = cluster["metadata"]["name"]
            work = self.host.peek(self.works_rt, execution_space(cluster_name), wname)
            if work is None or work["metadata"].get("deletionTimestamp"):
                continue
            if _binding_key(_annotations(work)) != key:
                continue
            collected = self._collect(work, cluster_name, may_wait=first)
            if collected is None:
                self._wait_for_member(key)
                return
            work, fresh = collected
            stale = stale or not fresh
            items.append(self._item(work))
        self._done_waiting(key)
        items.sort(key=lambda item: str(item["clusterName"]))
        targets = {str(c.get("name")) for c in spec.get("clusters") or ()}
        targets |= {str(t.get("fromCluster")) for t in spec.get("gracefulEvictionTasks") or ()}
        fully = bool(targets) and len(targets) == len(items)
        fully = fully and all(item["applied"] and item["clusterName"] in targets for item in items)
        reason, message = FULLY_APPLIED_SUCCESS if fully else FULLY_APPLIED_FAILED
        condition = kube_conditions.condition(FULLY_APPLIED, "True" if fully else "False", reason, message)
        status = dict(binding.get("status") or {})
        if items:
            status["aggregatedStatus"] = items
        else:
            status.pop("aggregatedStatus", None)
        status["conditions"] = kube_conditions.set_condition(status.get("conditions"), condition, self.clock.timestamp)
        if status != (binding.get("status") or {}):
            binding = self.host.replace_status(rt, namespace or None, name, binding, status)
        self._aggregate_into_template(binding, items)
        if stale:
            raise kube_workqueue.Requeue(self.retry_seconds)

    def _collect(self, work: Obj, cluster_name: str, *, may_wait: bool = False) -> tuple[Obj, bool] | None:
        """Refresh a ``Work``'s manifest status from its member; ``False`` if the member is unreachable.

        With ``may_wait``, ``None`` while the member's controller has yet to post the first status
        of what was applied (:func:`awaiting_status`): the status it posts brings another
        reconcile, which then has it.
        """
        member = self.fleet.members.get(cluster_name)
        if member is None or not member.faults.reachable:
            return work, member is None
        manifest = ((work.get("spec") or {}).get("workload") or {}).get("manifests", [{}])[0]
        rt = karmada_execution.resource_type(member.store, manifest)
        if rt is None:
            return work, True
        meta = manifest.get("metadata") or {}
        obj = member.store.peek(rt, meta.get("namespace"), str(meta.get("name") or ""))
        applied = kube_conditions.is_true(work, APPLIED)
        if obj is None:
            if applied:  # deleted in the member behind Karmada's back: recreate it
                karmada_execution.apply(member.store, manifest, cluster=cluster_name, conflict_resolution="Abort")
            return work, True
        if may_wait and applied and awaiting_status(obj):
            return None
        wmeta = work["metadata"]
        work_key = (str(wmeta["namespace"]), str(wmeta["name"]))
        last = self._collected.get(work_key)
        if last is not None and last[0] is work and last[1] is obj:
            return work, True
        group, version = split_api_version(rt.api_version)
        identifier: Obj = {"ordinal": 0, "group": group, "version": version, "kind": rt.kind, "resource": rt.plural}
        if meta.get("namespace"):
            identifier["namespace"] = meta["namespace"]
        identifier["name"] = meta.get("name")
        manifest_status: Obj = {"identifier": identifier, "health": karmada_interpreter.interpret_health(obj)}
        reflected = karmada_interpreter.reflect_status(obj)
        if reflected is not None:
            manifest_status["status"] = reflected
        status = dict(work.get("status") or {})
        status["manifestStatuses"] = [manifest_status]
        if status == (work.get("status") or {}):
            self._collected[work_key] = (work, obj)
            return work, True
        updated = self.host.replace_status(self.works_rt, wmeta["namespace"], wmeta["name"], work, status)
        self._own_writes[work_key] = updated["metadata"]["resourceVersion"]
        self._collected[work_key] = (updated, obj)
        return updated, True

    def _item(self, work: Mapping[str, Any]) -> Obj:
        cluster_name = cluster_of(str(work["metadata"]["namespace"])) or ""
        applied_condition = kube_conditions.peek((work.get("status") or {}).get("conditions"), APPLIED)
        applied = applied_condition is not None and applied_condition.get("status") == "True"
        item: Obj = {"clusterName": cluster_name, "applied": applied, "health": "Unknown"}
        if not applied:
            if applied_condition is not None and applied_condition.get("message"):
                item["appliedMessage"] = applied_condition["message"]
            return item
        for manifest_status in (work.get("status") or {}).get("manifestStatuses") or ():
            if "status" in manifest_status:
                item["status"] = manifest_status["status"]
            item["health"] = manifest_status.get("health") or "Unknown"
            break
        return item

    def _aggregate_into_template(self, binding: Mapping[str, Any], items: list[Obj]) -> None:
        resource = (binding.get("spec") or {}).get("resource") or {}
        group, version = split_api_version(str(resource.get("apiVersion") or ""))
        rt = self.registry.by_kind(group, version, str(resource.get("kind") or ""))
        if rt is None or not rt.status_subresource:
            return
        template = self.host.peek(rt, resource.get("namespace"), str(resource.get("name") or ""))
        if template is None or template["metadata"].get("uid") != resource.get("uid"):
            return
        status = karmada_interpreter.aggregate_status(template, items)
        if status is None or status == (template.get("status") or {}):
            return
        meta = template["metadata"]
        self.host.replace_status(rt, meta.get("namespace"), meta["name"], template, status)
