"""Karmada's binding and execution controllers: bindings become ``Work``s and member objects.

For every cluster in a binding's ``spec.clusters`` the controller keeps a ``Work`` in the
cluster's execution space (``karmada-es-<cluster>``, named by ``names.GenerateWorkName``) whose
manifest is the resource template for that cluster (:func:`.karmada_execution.render`:
``spec.replicas`` set to the cluster's share for Divided placements; labels
``karmada.io/managed``, ``resourcebinding.karmada.io/permanent-id``,
``work.karmada.io/permanent-id``; annotations ``resourcebinding.karmada.io/name``/``namespace``,
``resourcetemplate.karmada.io/uid``/``generation``/``managed-labels``/``managed-annotations``,
``work.karmada.io/name``/``namespace``), and applies it to the member, creating the namespace
there if needed. The ``Work``'s ``Applied`` condition records the outcome (``AppliedSuccessful``
/ ``AppliedFailed``). Members that are down or partitioned, and clusters that are not
``Ready``, are skipped and retried; so is the removal of the object from clusters no longer in
the binding (clusters still in ``gracefulEvictionTasks`` keep theirs until the task ends). A
binding being deleted (its template is gone: garbage collection) keeps its finalizer until every
member copy and ``Work`` is removed (``preserveResourcesOnDeletion`` keeps the member copies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from kurator_sim.controllers import karmada_execution, kube_conditions, kube_workqueue, placement
from kurator_sim.controllers.karmada_names import (
    BINDING_FINALIZER,
    CLUSTER_BINDING_FINALIZER,
    CLUSTER_RESOURCE_BINDINGS,
    CLUSTERS,
    CONDITION_READY,
    CRB_NAME,
    CRB_PERMANENT_ID,
    NAMESPACES,
    RB_NAME,
    RB_NAMESPACE,
    RB_PERMANENT_ID,
    RESOURCE_BINDINGS,
    WORK_PERMANENT_ID,
    WORKS,
    execution_space,
    labels_of,
    split_api_version,
    work_name,
)
from kurator_sim.fleet import Fleet
from kurator_sim.store import objects
from kurator_sim.store.objects import clone
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

BindingKey = tuple[tuple[str, str], str, str]

APPLIED = "Applied"
APPLIED_SUCCESS = ("AppliedSuccessful", "Manifest has been successfully applied")
APPLIED_FAILED_REASON = "AppliedFailed"


def binding_key_of(binding: Mapping[str, Any]) -> BindingKey:
    meta = binding["metadata"]
    rt_key = RESOURCE_BINDINGS if meta.get("namespace") else CLUSTER_RESOURCE_BINDINGS
    return (rt_key, str(meta.get("namespace") or ""), str(meta["name"]))


def binding_annotation(binding: Mapping[str, Any]) -> tuple[str, str]:
    """The annotation member copies carry to name their binding."""
    meta = binding["metadata"]
    return (RB_NAME, meta["name"]) if meta.get("namespace") else (CRB_NAME, meta["name"])


def _seen_of(binding: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a binding its reconcile acts on (not its status)."""
    meta = binding["metadata"]
    return (meta.get("generation"), meta.get("deletionTimestamp"), tuple(meta.get("finalizers") or ()))


def work_of(binding: Mapping[str, Any]) -> str:
    resource = (binding.get("spec") or {}).get("resource") or {}
    return work_name(str(resource.get("kind") or ""), str(resource.get("name") or ""), resource.get("namespace"))


class BindingController:
    def __init__(self, *, fleet: Fleet, retry_seconds: float = 5.0) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.registry = fleet.host_registry
        self.retry_seconds = retry_seconds
        self.clusters_rt = self.registry.by_key(CLUSTERS)
        self.works_rt = self.registry.by_key(WORKS)
        self.binding_rts = {key: self.registry.by_key(key) for key in (RESOURCE_BINDINGS, CLUSTER_RESOURCE_BINDINGS)}
        self._queue: kube_workqueue.WorkQueue[BindingKey] = kube_workqueue.WorkQueue(self.clock)
        self._seen: dict[BindingKey, tuple[Any, ...]] = {}
        self._ready: dict[str, str | None] = {}

    async def run(self) -> None:
        self._queue = kube_workqueue.WorkQueue(self.clock)
        self._seen, self._ready = {}, {}
        try:
            async with asyncio.TaskGroup() as tg:
                for key, rt in self.binding_rts.items():
                    tg.create_task(kube_workqueue.watch(self.host, rt, self._on_binding(key)))
                tg.create_task(kube_workqueue.watch(self.host, self.clusters_rt, self._on_cluster))
                tg.create_task(kube_workqueue.drain(self._queue, self.reconcile, controller="binding-controller"))
        finally:
            self._queue.close()

    def _on_binding(self, rt_key: tuple[str, str]) -> Callable[[WatchEvent], None]:
        def on_event(event: WatchEvent) -> None:
            meta = event.object["metadata"]
            key: BindingKey = (rt_key, str(meta.get("namespace") or ""), str(meta["name"]))
            if event.type == "DELETED":
                self._seen.pop(key, None)
                return
            seen = _seen_of(event.object)
            if self._seen.get(key) != seen:
                self._seen[key] = seen
                self._queue.add(key)

        return on_event

    def _on_cluster(self, event: WatchEvent) -> None:
        name = event.object["metadata"]["name"]
        ready = None if event.type == "DELETED" else kube_conditions.status_of(event.object, CONDITION_READY)
        if self._ready.get(name, "-") == ready:
            return
        self._ready[name] = ready
        for rt_key, rt in self.binding_rts.items():
            for binding in self.host.iter_raw(rt):
                meta = binding["metadata"]
                self._queue.add((rt_key, str(meta.get("namespace") or ""), str(meta["name"])))

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: BindingKey) -> None:
        rt_key, namespace, name = key
        # Read only: writes go to copies.
        binding = self.host.peek(self.binding_rts[rt_key], namespace or None, name)
        if binding is None:
            return
        # This reconcile acts on the binding as it is now: the event of a write it has not been
        # told about yet (the scheduler's, say) is old news when it comes.
        self._seen[key] = _seen_of(binding)
        if binding["metadata"].get("deletionTimestamp"):
            self._finalize(key, binding)
            return
        if not self._sync(binding):
            raise kube_workqueue.Requeue(self.retry_seconds)

    def _template(self, binding: Mapping[str, Any]) -> Obj | None:
        resource = (binding.get("spec") or {}).get("resource") or {}
        group, version = split_api_version(str(resource.get("apiVersion") or ""))
        rt = self.registry.by_kind(group, version, str(resource.get("kind") or ""))
        if rt is None:
            return None
        # Read only: render copies it.
        template = self.host.peek(rt, resource.get("namespace"), str(resource.get("name") or ""))
        if template is None or template["metadata"].get("uid") != resource.get("uid"):
            return None
        return template

    def _sync(self, binding: Obj) -> bool:
        """Bring works and member objects in line; ``False`` when something must be retried."""
        template = self._template(binding)
        if template is None:
            return True
        spec = binding.get("spec") or {}
        divided = int(spec.get("replicas") or 0) > 0 and placement.is_divided(spec.get("placement"))
        targets = {str(c["name"]): int(c.get("replicas") or 0) for c in spec.get("clusters") or () if c.get("name")}
        evicting = {str(t.get("fromCluster")) for t in spec.get("gracefulEvictionTasks") or ()}
        done = True
        for cluster_name, replicas in targets.items():
            cluster = self.host.peek(self.clusters_rt, None, cluster_name)
            if cluster is None or cluster["metadata"].get("deletionTimestamp"):
                continue
            work = self._ensure_work(binding, template, cluster_name, replicas if divided else None)
            done = self._execute(work, cluster, str(spec.get("conflictResolution") or "Abort")) and done
        wname = work_of(binding)
        for cluster in list(self.host.iter_raw(self.clusters_rt)):
            cluster_name = cluster["metadata"]["name"]
            if cluster_name in targets or cluster_name in evicting:
                continue
            stale = self.host.peek(self.works_rt, execution_space(cluster_name), wname)
            if stale is not None and self._owned(stale, binding):
                done = self._delete_work(stale, cluster_name, binding, keep_member_object=False) and done
        return done

    def _owned(self, work: Mapping[str, Any], binding: Mapping[str, Any]) -> bool:
        label = RB_PERMANENT_ID if binding["metadata"].get("namespace") else CRB_PERMANENT_ID
        return labels_of(work).get(label) == labels_of(binding).get(label)

    def _ensure_work(self, binding: Obj, template: Obj, cluster: str, replicas: int | None) -> Obj:
        namespace = execution_space(cluster)
        ns_rt = self.registry.by_key(NAMESPACES)
        if self.host.peek(ns_rt, None, namespace) is None:
            self.host.create(ns_rt, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        wname = work_of(binding)
        # Read only: changes go to a copy, and the store copies what is written.
        existing = self.host.peek(self.works_rt, namespace, wname)
        work_id = labels_of(existing or {}).get(WORK_PERMANENT_ID) or objects.new_uid()
        manifest = karmada_execution.render(
            template, binding, work_name=wname, work_namespace=namespace, work_id=work_id, replicas=replicas
        )
        bmeta = binding["metadata"]
        if bmeta.get("namespace"):
            labels = {RB_PERMANENT_ID: labels_of(binding).get(RB_PERMANENT_ID, ""), WORK_PERMANENT_ID: work_id}
            annotations = {RB_NAME: bmeta["name"], RB_NAMESPACE: bmeta["namespace"]}
        else:
            labels = {CRB_PERMANENT_ID: labels_of(binding).get(CRB_PERMANENT_ID, ""), WORK_PERMANENT_ID: work_id}
            annotations = {CRB_NAME: bmeta["name"]}
        spec = {"workload": {"manifests": [manifest]}}
        if existing is None:
            body = {
                "apiVersion": self.works_rt.api_version,
                "kind": "Work",
                "metadata": {"name": wname, "namespace": namespace, "labels": labels, "annotations": annotations},
                "spec": spec,
            }
            return self.host.create(self.works_rt, namespace, body, copy_result=False, copy_input=False)
        emeta = existing["metadata"]
        updated = {
            **existing,
            "metadata": {
                **emeta,
                "labels": {**(emeta.get("labels") or {}), **labels},
                "annotations": {**(emeta.get("annotations") or {}), **annotations},
            },
            "spec": {**(existing.get("spec") or {}), **spec},
        }
        if updated == existing:
            return existing
        # ``updated`` shares the stored Work's values and holds the new manifest: nothing in it changes later.
        return self.host.update(self.works_rt, namespace, wname, updated, copy_result=False, copy_input=False)

    def _execute(self, work: Obj, cluster: Mapping[str, Any], conflict_resolution: str) -> bool:
        name = cluster["metadata"]["name"]
        member = self.fleet.members.get(name)
        if member is None or not member.faults.reachable or not kube_conditions.is_true(cluster, CONDITION_READY):
            return False
        manifest = ((work.get("spec") or {}).get("workload") or {}).get("manifests", [{}])[0]
        failure = karmada_execution.apply(member.store, manifest, cluster=name, conflict_resolution=conflict_resolution)
        if failure is None:
            condition = kube_conditions.condition(APPLIED, "True", *APPLIED_SUCCESS)
        else:
            condition = kube_conditions.condition(APPLIED, "False", APPLIED_FAILED_REASON, failure)
        status = dict(work.get("status") or {})
        status["conditions"] = kube_conditions.set_condition(status.get("conditions"), condition, self.clock.timestamp)
        if status != (work.get("status") or {}):
            meta = work["metadata"]
            self.host.replace_status(self.works_rt, meta["namespace"], meta["name"], work, status)
            if failure is not None:
                log.info("work.apply_failed", work=f"{meta['namespace']}/{meta['name']}", error=failure)
        return failure is None

    def _delete_work(
        self, work: Obj, cluster_name: str, binding: Mapping[str, Any], *, keep_member_object: bool
    ) -> bool:
        member = self.fleet.members.get(cluster_name)
        cluster = self.host.find(self.clusters_rt, None, cluster_name)
        if not keep_member_object and member is not None and cluster is not None:
            if not member.faults.reachable or not kube_conditions.is_true(cluster, CONDITION_READY):
                return False
            manifest = ((work.get("spec") or {}).get("workload") or {}).get("manifests", [{}])[0]
            karmada_execution.remove(member.store, manifest, binding_annotation=binding_annotation(binding))
        meta = work["metadata"]
        self.host.delete(self.works_rt, meta["namespace"], meta["name"])
        log.info("work.removed", work=f"{meta['namespace']}/{meta['name']}", cluster=cluster_name)
        return True

    def _finalize(self, key: BindingKey, binding: Obj) -> None:
        keep = bool((binding.get("spec") or {}).get("preserveResourcesOnDeletion"))
        wname = work_of(binding)
        pending = False
        for cluster in list(self.host.iter_raw(self.clusters_rt)):
            cluster_name = cluster["metadata"]["name"]
            work = self.host.find(self.works_rt, execution_space(cluster_name), wname)
            if work is None or not self._owned(work, binding):
                continue
            if not self._delete_work(work, cluster_name, binding, keep_member_object=keep):
                pending = True
        if pending:
            raise kube_workqueue.Requeue(self.retry_seconds)
        finalizer = BINDING_FINALIZER if binding["metadata"].get("namespace") else CLUSTER_BINDING_FINALIZER
        finalizers = [f for f in binding["metadata"].get("finalizers") or () if f != finalizer]
        if finalizers != list(binding["metadata"].get("finalizers") or ()):
            updated = clone(binding)
            updated["metadata"]["finalizers"] = finalizers
            rt_key, namespace, name = key
            self.host.update(self.binding_rts[rt_key], namespace or None, name, updated)
