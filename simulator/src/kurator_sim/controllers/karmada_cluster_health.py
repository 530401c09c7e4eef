"""karmada-controller-manager's cluster-controller: execution spaces, health monitor, taints.

* Every ``Cluster`` gets its execution space (namespace ``karmada-es-<name>``, where its
  ``Work``s live) and the ``karmada.io/cluster-controller`` finalizer.
* Health monitor (every ``--cluster-monitor-period``, 5 s): a **Pull** cluster whose status and
  lease have not moved for ``--cluster-monitor-grace-period`` (40 s; 60 s startup grace before
  the first post) gets ``Ready=Unknown``, reason ``ClusterStatusUnknown``, message "Cluster
  status controller stopped posting cluster status." (``ClusterStatusNeverUpdated`` if it never
  posted). Push clusters are judged by their status controller alone, as in Karmada.
* Taints by condition (``taintClusterByCondition``): ``Ready=False`` ->
  ``cluster.karmada.io/not-ready:NoSchedule``; ``Unknown`` ->
  ``cluster.karmada.io/unreachable:NoSchedule``; no ``Ready`` yet -> ``not-ready:NoSchedule``;
  ``True`` removes them. Since Karmada v1.14 ``NoExecute`` taints, which drive failover, come
  from a ``ClusterTaintPolicy``; with ``no_execute_taints`` (the default) this controller plays
  the usual one: ``not-ready:NoExecute`` while ``Ready=False``, ``unreachable:NoExecute`` while
  ``Unknown``, removed when ``Ready=True``. Taints added get ``timeAdded``.
* Removal (``deletionTimestamp``): the ``cluster.karmada.io/terminating:NoExecute`` taint, the
  execution space deleted, and (with taint eviction on) the finalizer kept until no binding
  targets the cluster any more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from kurator_sim.controllers import kube_conditions, kube_workqueue
from kurator_sim.controllers.karmada_names import (
    CLUSTER_FINALIZER,
    CLUSTER_RESOURCE_BINDINGS,
    CLUSTERS,
    CONDITION_READY,
    KARMADA_CLUSTER,
    LEASES,
    NAMESPACES,
    RESOURCE_BINDINGS,
    TAINT_NOT_READY,
    TAINT_TERMINATING,
    TAINT_UNREACHABLE,
    execution_space,
)
from kurator_sim.fleet import Fleet
from kurator_sim.store.objects import clone
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

_TaintKey = tuple[str, str]


@dataclass(slots=True)
class _Health:
    probe: float
    ready: Obj | None
    lease_renew: str | None = None


class ClusterHealthController:
    def __init__(
        self,
        *,
        fleet: Fleet,
        monitor_period: float = 5.0,
        grace_period: float = 40.0,
        startup_grace_period: float = 60.0,
        no_execute_taints: bool = True,
        wait_for_eviction: bool = True,
    ) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.monitor_period = monitor_period
        self.grace_period = grace_period
        self.startup_grace_period = startup_grace_period
        self.no_execute_taints = no_execute_taints
        self.wait_for_eviction = wait_for_eviction
        self.clusters_rt = fleet.host_registry.by_key(CLUSTERS)
        self._health: dict[str, _Health] = {}

    async def run(self) -> None:
        self._health = {}
        queue: kube_workqueue.WorkQueue[str] = kube_workqueue.WorkQueue(self.clock)

        def on_cluster(event: WatchEvent) -> None:
            queue.add(event.object["metadata"]["name"])

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(kube_workqueue.watch(self.host, self.clusters_rt, on_cluster))
                tg.create_task(kube_workqueue.drain(queue, self.reconcile, controller="cluster-controller"))
                tg.create_task(self._monitor_forever())
        finally:
            queue.close()

    async def _monitor_forever(self) -> None:
        while True:
            self.monitor()
            await self.clock.sleep(self.monitor_period)

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, name: str) -> None:
        cluster = self.host.find(self.clusters_rt, None, name)
        if cluster is None:
            self._health.pop(name, None)
            return
        if cluster["metadata"].get("deletionTimestamp"):
            self._remove(cluster)
            return
        self._ensure_execution_space(name)
        self._taint_by_condition(cluster)
        cluster = self.host.get(self.clusters_rt, None, name)
        finalizers = list(cluster["metadata"].get("finalizers") or ())
        if CLUSTER_FINALIZER not in finalizers:
            cluster["metadata"]["finalizers"] = [*finalizers, CLUSTER_FINALIZER]
            self.host.update(self.clusters_rt, None, name, cluster)

    def _ensure_execution_space(self, name: str) -> None:
        rt = self.fleet.host_registry.by_key(NAMESPACES)
        if self.host.find(rt, None, execution_space(name)) is None:
            self.host.create(
                rt, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": execution_space(name)}}
            )

    def _taint_by_condition(self, cluster: Obj) -> None:
        ready = kube_conditions.status_of(cluster, CONDITION_READY)
        add: list[_TaintKey] = []
        remove: list[_TaintKey] = []
        if ready is None:
            add = [(TAINT_NOT_READY, "NoSchedule")]
        elif ready == "False":
            add, remove = [(TAINT_NOT_READY, "NoSchedule")], [(TAINT_UNREACHABLE, "NoSchedule")]
            if self.no_execute_taints:
                add.append((TAINT_NOT_READY, "NoExecute"))
                remove.append((TAINT_UNREACHABLE, "NoExecute"))
        elif ready == "Unknown":
            add, remove = [(TAINT_UNREACHABLE, "NoSchedule")], [(TAINT_NOT_READY, "NoSchedule")]
            if self.no_execute_taints:
                add.append((TAINT_UNREACHABLE, "NoExecute"))
                remove.append((TAINT_NOT_READY, "NoExecute"))
        else:
            remove = [
                (key, effect) for key in (TAINT_NOT_READY, TAINT_UNREACHABLE) for effect in ("NoSchedule", "NoExecute")
            ]
        self._update_taints(cluster, add, remove)

    def _update_taints(self, cluster: Obj, add: Sequence[_TaintKey], remove: Sequence[_TaintKey]) -> None:
        """``helper.UpdateClusterControllerTaint``: add missing taints (with ``timeAdded``), drop others."""
        taints = list((cluster.get("spec") or {}).get("taints") or ())
        kept = [t for t in taints if (t.get("key"), t.get("effect")) not in set(remove)]
        present = {(t.get("key"), t.get("effect")) for t in kept}
        stamp = self.clock.timestamp()
        for key, effect in add:
            if (key, effect) not in present:
                kept.append({"key": key, "effect": effect, "timeAdded": stamp})
        if kept == taints:
            return
        updated = clone(cluster)
        updated.setdefault("spec", {})["taints"] = kept
        if not kept:
            updated["spec"].pop("taints")
        self.host.update(self.clusters_rt, None, cluster["metadata"]["name"], updated)
        log.info(
            "cluster.taints",
            cluster=cluster["metadata"]["name"],
            taints=[f"{t['key']}:{t['effect']}" for t in kept],
        )

    def _remove(self, cluster: Obj) -> None:
        name = cluster["metadata"]["name"]
        self._update_taints(cluster, [(TAINT_TERMINATING, "NoExecute")], [])
        ns_rt = self.fleet.host_registry.by_key(NAMESPACES)
        if self.host.find(ns_rt, None, execution_space(name)) is not None:
            self.host.delete(ns_rt, None, execution_space(name))
        if self.wait_for_eviction and self._targeted(name):
            raise kube_workqueue.Requeue()
        cluster = self.host.get(self.clusters_rt, None, name)
        finalizers = [f for f in cluster["metadata"].get("finalizers") or () if f != CLUSTER_FINALIZER]
        if finalizers != list(cluster["metadata"].get("finalizers") or ()):
            cluster["metadata"]["finalizers"] = finalizers
            self.host.update(self.clusters_rt, None, name, cluster)
        self._health.pop(name, None)

    def _targeted(self, name: str) -> bool:
        for key in (RESOURCE_BINDINGS, CLUSTER_RESOURCE_BINDINGS):
            rt = self.fleet.host_registry.by_key(key)
            for binding in self.host.iter_raw(rt):
                if any(c.get("name") == name for c in (binding.get("spec") or {}).get("clusters") or ()):
                    return True
        return False

    # --- health monitor ---------------------------------------------------------------------

    def monitor(self) -> None:
        for cluster in list(self.host.iter_raw(self.clusters_rt)):
            self._try_update_health(cluster)

    def _try_update_health(self, cluster: Mapping[str, Any]) -> None:
        name = cluster["metadata"]["name"]
        now = self.clock.elapsed()
        current = kube_conditions.find((cluster.get("status") or {}).get("conditions"), CONDITION_READY)
        health = self._health.get(name)
        grace = self.grace_period if current is not None else self.startup_grace_period
        if health is None:
            health = _Health(probe=now, ready=current)
        elif current != health.ready:
            health = _Health(probe=now, ready=current, lease_renew=health.lease_renew)
        self._health[name] = health
        if (cluster.get("spec") or {}).get("syncMode") != "Pull":
            return
        lease = self.host.find(self.fleet.host_registry.by_key(LEASES), KARMADA_CLUSTER, name)
        renewed = str(((lease or {}).get("spec") or {}).get("renewTime") or "") or None
        if renewed is not None and renewed != health.lease_renew:
            health.lease_renew = renewed
            health.probe = now
        if now <= health.probe + grace:
            return
        stamp = self.clock.timestamp()
        if current is None:
            new = kube_conditions.condition(
                CONDITION_READY,
                "Unknown",
                "ClusterStatusNeverUpdated",
                "Cluster status controller never posted cluster status.",
            )
        elif current.get("status") != "Unknown":
            new = kube_conditions.condition(
                CONDITION_READY,
                "Unknown",
                "ClusterStatusUnknown",
                "Cluster status controller stopped posting cluster status.",
            )
        else:
            return
        status = dict(cluster.get("status") or {})
        status["conditions"] = kube_conditions.set_condition(status.get("conditions"), new, stamp)
        updated = self.host.update(self.clusters_rt, None, name, {**cluster, "status": status}, subresource="status")
        health.ready = kube_conditions.find(updated["status"]["conditions"], CONDITION_READY)
        log.info("cluster.ready", cluster=name, status="Unknown", reason=new["reason"])
