"""Karmada's NoExecute taint manager: bindings are evicted from clusters they do not tolerate.

For every cluster with ``NoExecute`` taints (re-examined every
``--cluster-taint-eviction-retry-frequency``, 10 s) each binding scheduled there is checked
against the tolerations of its applied placement (the ``policy.karmada.io/applied-placement``
annotation). An untolerated taint evicts at once; tolerations with ``tolerationSeconds`` evict
when the shortest one has run out since the taint's ``timeAdded``; tolerations without it keep
the binding there. Eviction removes the cluster from ``spec.clusters``; with graceful eviction
(the ``GracefulEviction`` feature, on by default; not for ``failover.cluster.purgeMode:
Directly``) it also records a ``gracefulEvictionTasks`` entry (``reason: TaintUntolerated``,
``producer: TaintManager``, the evicted replicas, ``creationTimestamp``) so the member copy
stays until the workload is healthy elsewhere (:mod:`.karmada_graceful_eviction`). The
scheduler then re-places what was evicted.

Karmada runs this only with ``--enable-no-execute-taint-eviction`` and the ``Failover`` feature
gate; the controller manager's ``taint_eviction`` setting plays those switches.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog

from kurator_sim.controllers import kube_workqueue
from kurator_sim.controllers.karmada_names import (
    APPLIED_PLACEMENT,
    CLUSTER_RESOURCE_BINDINGS,
    CLUSTERS,
    RESOURCE_BINDINGS,
    annotations_of,
)
from kurator_sim.controllers.karmada_scheduler import parse_time
from kurator_sim.controllers.placement import tolerates
from kurator_sim.fleet import Fleet
from kurator_sim.store.objects import clone
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

EVICTION_REASON = "TaintUntolerated"
EVICTION_PRODUCER = "TaintManager"


def no_execute_taints(cluster: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in (cluster.get("spec") or {}).get("taints") or () if t.get("effect") == "NoExecute"]


def eviction_delay(
    taints: list[Mapping[str, Any]], tolerations: list[Mapping[str, Any]], now: datetime
) -> float | None:
    """Seconds until eviction: 0 now, ``None`` never (``GetMatchingTolerations``/``GetMinTolerationTime``)."""
    soonest: float | None = None
    for taint in taints:
        matching = next((t for t in tolerations if tolerates(t, taint)), None)
        if matching is None:
            return 0.0
        seconds = matching.get("tolerationSeconds")
        if seconds is None:
            continue
        if int(seconds) <= 0:
            return 0.0
        added = parse_time(taint.get("timeAdded")) or now
        left = (added + timedelta(seconds=int(seconds)) - now).total_seconds()
        soonest = max(0.0, left) if soonest is None else min(soonest, max(0.0, left))
    return soonest


class TaintManager:
    def __init__(self, *, fleet: Fleet, graceful_eviction: bool = True, retry_frequency: float = 10.0) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.graceful_eviction = graceful_eviction
        self.retry_frequency = retry_frequency
        self.clusters_rt = fleet.host_registry.by_key(CLUSTERS)
        self.binding_rts = {
            key: fleet.host_registry.by_key(key) for key in (RESOURCE_BINDINGS, CLUSTER_RESOURCE_BINDINGS)
        }
        self._queue: kube_workqueue.WorkQueue[tuple[Any, ...]] = kube_workqueue.WorkQueue(self.clock)

    async def run(self) -> None:
        self._queue = kube_workqueue.WorkQueue(self.clock)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(kube_workqueue.watch(self.host, self.clusters_rt, self._on_cluster))
                tg.create_task(kube_workqueue.drain(self._queue, self.reconcile, controller="taint-manager"))
        finally:
            self._queue.close()

    def _on_cluster(self, event: WatchEvent) -> None:
        if event.type != "DELETED" and no_execute_taints(event.object):
            self._queue.add(("cluster", event.object["metadata"]["name"]))

    def reconcile(self, key: tuple[Any, ...]) -> None:
        if key[0] == "cluster":
            self._sync_cluster(str(key[1]))
        else:
            _, rt_key, namespace, name, cluster_name = key
            self._sync_binding(rt_key, namespace, name, cluster_name)

    def _sync_cluster(self, name: str) -> None:
        cluster = self.host.find(self.clusters_rt, None, name)
        if cluster is None or not no_execute_taints(cluster):
            return
        for rt_key, rt in self.binding_rts.items():
            for binding in list(self.host.iter_raw(rt)):
                if any(c.get("name") == name for c in (binding.get("spec") or {}).get("clusters") or ()):
                    meta = binding["metadata"]
                    self._sync_binding(rt_key, str(meta.get("namespace") or ""), meta["name"], name)
        self._queue.add_after(("cluster", name), self.retry_frequency)

    def _sync_binding(self, rt_key: tuple[str, str], namespace: str, name: str, cluster_name: str) -> None:
        rt = self.binding_rts[rt_key]
        binding = self.host.find(rt, namespace or None, name)
        cluster = self.host.find(self.clusters_rt, None, cluster_name)
        if binding is None or cluster is None or binding["metadata"].get("deletionTimestamp"):
            return
        spec = binding.get("spec") or {}
        if not any(c.get("name") == cluster_name for c in spec.get("clusters") or ()):
            return
        taints = no_execute_taints(cluster)
        if not taints:
            return
        try:
            applied = json.loads(annotations_of(binding).get(APPLIED_PLACEMENT) or "{}")
        except ValueError:
            applied = {}
        tolerations = list((applied or {}).get("clusterTolerations") or ())
        delay = eviction_delay(taints, tolerations, self.clock.now())
        if delay is None:
            return
        if delay > 0:
            self._queue.add_after(("binding", rt_key, namespace, name, cluster_name), delay)
            return
        self._evict(rt_key, binding, cluster_name)

    def _evict(self, rt_key: tuple[str, str], binding: Obj, cluster_name: str) -> None:
        updated = clone(binding)
        spec = updated["spec"]
        evicted = next(c for c in spec.get("clusters") or () if c.get("name") == cluster_name)
        spec["clusters"] = [c for c in spec.get("clusters") or () if c.get("name") != cluster_name]
        if not spec["clusters"]:
            spec.pop("clusters")
        purge_mode = ((spec.get("failover") or {}).get("cluster") or {}).get("purgeMode")
        tasks = list(spec.get("gracefulEvictionTasks") or ())
        if (
            self.graceful_eviction
            and purge_mode != "Directly"
            and all(t.get("fromCluster") != cluster_name for t in tasks)
        ):
            task: Obj = {
                "fromCluster": cluster_name,
                "purgeMode": "Gracefully",
                "reason": EVICTION_REASON,
                "producer": EVICTION_PRODUCER,
                "creationTimestamp": self.clock.timestamp(),
            }
            if int(evicted.get("replicas") or 0) > 0:
                task["replicas"] = int(evicted["replicas"])
            spec["gracefulEvictionTasks"] = [*tasks, task]
        meta = binding["metadata"]
        self.host.update(self.binding_rts[rt_key], meta.get("namespace"), meta["name"], updated)
        log.info("binding.evicted", binding=f"{meta.get('namespace', '')}/{meta['name']}", cluster=cluster_name)
