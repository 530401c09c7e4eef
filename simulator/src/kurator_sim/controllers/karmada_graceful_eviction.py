"""Karmada's graceful eviction controller: eviction tasks end when the workload has moved.

A ``gracefulEvictionTasks`` entry keeps the evicted cluster's copy of a workload (and keeps the
scheduler away from that cluster) until either every cluster of the new scheduling result reports
the workload applied and ``Healthy`` in ``aggregatedStatus`` (once the scheduler has observed the
binding's latest generation), or the task is older than its ``gracePeriodSeconds`` (default
``--graceful-eviction-timeout``, 10 min). ``suppressDeletion: true`` keeps a task, ``false`` ends
it at once. Removing the task lets the binding controller delete the evicted copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog

from kurator_sim.controllers import kube_workqueue
from kurator_sim.controllers.karmada_names import CLUSTER_RESOURCE_BINDINGS, RESOURCE_BINDINGS
from kurator_sim.controllers.karmada_scheduler import parse_time
from kurator_sim.fleet import Fleet
from kurator_sim.store.objects import clone
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

BindingKey = tuple[tuple[str, str], str, str]


def all_scheduled_healthy(binding: Mapping[str, Any]) -> bool:
    """``allScheduledResourceInHealthyState``."""
    items = {str(i.get("clusterName")): i for i in (binding.get("status") or {}).get("aggregatedStatus") or ()}
    for target in (binding.get("spec") or {}).get("clusters") or ():
        item = items.get(str(target.get("name")))
        if item is None or not item.get("applied") or item.get("health") != "Healthy":
            return False
    return True


class GracefulEvictionController:
    def __init__(self, *, fleet: Fleet, timeout: float = 600.0) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.timeout = timeout
        self.binding_rts = {
            key: fleet.host_registry.by_key(key) for key in (RESOURCE_BINDINGS, CLUSTER_RESOURCE_BINDINGS)
        }
        self._queue: kube_workqueue.WorkQueue[BindingKey] = kube_workqueue.WorkQueue(self.clock)

    async def run(self) -> None:
        self._queue = kube_workqueue.WorkQueue(self.clock)
        try:
            async with asyncio.TaskGroup() as tg:
                for key, rt in self.binding_rts.items():
                    tg.create_task(kube_workqueue.watch(self.host, rt, self._on_binding(key)))
                tg.create_task(kube_workqueue.drain(self._queue, self.reconcile, controller="graceful-eviction"))
        finally:
            self._queue.close()

    def _on_binding(self, rt_key: tuple[str, str]) -> Callable[[WatchEvent], None]:
        def on_event(event: WatchEvent) -> None:
            if event.type != "DELETED" and (event.object.get("spec") or {}).get("gracefulEvictionTasks"):
                meta = event.object["metadata"]
                self._queue.add((rt_key, str(meta.get("namespace") or ""), str(meta["name"])))

        return on_event

    def reconcile(self, key: BindingKey) -> None:
        rt_key, namespace, name = key
        rt = self.binding_rts[rt_key]
        binding = self.host.find(rt, namespace or None, name)
        if binding is None or binding["metadata"].get("deletionTimestamp"):
            return
        tasks = list((binding.get("spec") or {}).get("gracefulEvictionTasks") or ())
        if not tasks:
            return
        if (binding.get("status") or {}).get("schedulerObservedGeneration") != binding["metadata"]["generation"]:
            return  # wait for the scheduler; its status write brings us back
        now = self.clock.now()
        healthy = all_scheduled_healthy(binding)
        kept: list[Obj] = []
        wake: float | None = None
        for task in tasks:
            suppress = task.get("suppressDeletion")
            if suppress is not None:
                if suppress:
                    kept.append(task)
                continue
            period = float(task.get("gracePeriodSeconds") or self.timeout)
            expires = (parse_time(task.get("creationTimestamp")) or now) + timedelta(seconds=period)
            if now > expires or healthy:
                continue
            kept.append(task)
            left = (expires - now).total_seconds()
            wake = left if wake is None else min(wake, left)
        if len(kept) != len(tasks):
            updated = clone(binding)
            if kept:
                updated["spec"]["gracefulEvictionTasks"] = kept
            else:
                updated["spec"].pop("gracefulEvictionTasks")
            self.host.update(rt, namespace or None, name, updated)
            ended = sorted({str(t.get("fromCluster")) for t in tasks} - {str(t.get("fromCluster")) for t in kept})
            log.info("eviction.completed", binding=f"{namespace}/{name}", clusters=ended)
        if wake is not None:
            self._queue.add_after(key, wake + 1.0)
