"""karmada-scheduler: bindings get their ``spec.clusters`` from the placement engine.

A binding is looked at when its specification changes (``metadata.generation``; status-only
writes are ignored, as in Karmada) and, for every binding, when a ``Cluster`` is added, deleted,
relabelled or changes its spec (taints). Whether it is then scheduled follows
``doScheduleBinding`` (spec section 2): the placement differs from the
``policy.karmada.io/applied-placement`` annotation; the replicas changed; a reschedule was
requested (``rescheduleTriggeredAt`` after ``lastScheduledTime``); the binding is Duplicated or
not a workload (always); or a targeted cluster is being deleted. Divided workloads are thus
not moved by cluster changes alone, exactly like Karmada; failover moves them because the taint
manager takes the failed cluster out of ``spec.clusters``.

The engine is :func:`shared.placement.schedule` (pluggable: pass ``place=``, a function of its
request). Its results are kept by what decides them (:func:`placement_key`): bindings placed
alike in the same fleet (the clusters' resource versions) get the same clusters, so only the
first of them runs the engine.
Outcomes:
success writes ``spec.clusters`` and the applied-placement annotation, then ``Scheduled=True``
(reason ``Success``, "Binding has been scheduled successfully."), ``schedulerObservedGeneration``,
``lastScheduledTime`` and ``schedulerObservingAffinityName``. ``NoClusterFit`` clears
``spec.clusters`` and records ``Scheduled=False``; ``Unschedulable`` and ``SchedulerError`` keep
the previous result, record the condition and retry with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import structlog

from kurator_sim.controllers import karmada_names, kube_conditions, kube_workqueue
from kurator_sim.controllers.karmada_names import (
    APPLIED_PLACEMENT,
    CLUSTER_RESOURCE_BINDINGS,
    CLUSTERS,
    DEFAULT_SCHEDULER,
    RESOURCE_BINDINGS,
    annotations_of,
)
from kurator_sim.fleet import Fleet
from kurator_sim.store.watch import WatchEvent
from shared import placement
from shared.placement import strategy, webster

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

BindingKey = tuple[tuple[str, str], str, str]
"""``((group, plural), namespace, name)`` of a ResourceBinding or ClusterResourceBinding."""

PlaceFunction = Callable[[placement.ScheduleRequest], placement.ScheduleResult]

SCHEDULED = "Scheduled"
SUCCESS_REASON = "Success"
SUCCESS_MESSAGE = "Binding has been scheduled successfully."

RETRY_INITIAL_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0

PLACEMENT_CACHE_SIZE = 1024
"""Engine results kept (all are dropped when full: entries for older cluster states are dead anyway)."""


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def placement_fingerprint(placement_spec: Mapping[str, Any] | None) -> str:
    """Canonical JSON of a placement (what ``policy.karmada.io/applied-placement`` records)."""
    return karmada_names.canonical_json(placement_spec or {})


def placement_key(request: placement.ScheduleRequest, placement_json: str) -> tuple[Any, ...]:
    """Everything of ``request`` that :func:`shared.placement.schedule` decides by.

    ``placement_json`` is the placement's canonical JSON. The clusters count by name and resource
    version (a store's resource versions are never reused, so a changed cluster is a new key).
    The workload's uid only breaks division ties, by the parity of its hash
    (:func:`shared.placement.webster.names_descend`): bindings with different uids and the same
    parity are placed alike.
    """
    clusters = request.clusters
    assert not isinstance(clusters, placement.Snapshot)
    return (
        placement_json,
        request.replicas,
        tuple((c["metadata"]["name"], c["metadata"].get("resourceVersion")) for c in clusters),
        None if request.replica_requirements is None else karmada_names.canonical_json(request.replica_requirements),
        karmada_names.canonical_json(list(request.previous)) if request.previous else "",
        webster.names_descend(request.uid),
        request.resource,
        frozenset(request.evicted),
        request.reschedule,
        request.observed_affinity_name,
    )


def reschedule_requested(binding: Mapping[str, Any]) -> bool:
    triggered = parse_time((binding.get("spec") or {}).get("rescheduleTriggeredAt"))
    last = parse_time((binding.get("status") or {}).get("lastScheduledTime"))
    return triggered is not None and last is not None and triggered > last


class KarmadaScheduler:
    def __init__(self, *, fleet: Fleet, place: PlaceFunction = placement.schedule) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.place = place
        self.clusters_rt = fleet.host_registry.by_key(CLUSTERS)
        self.binding_rts = {
            key: fleet.host_registry.by_key(key) for key in (RESOURCE_BINDINGS, CLUSTER_RESOURCE_BINDINGS)
        }
        self._queue: kube_workqueue.WorkQueue[BindingKey] = kube_workqueue.WorkQueue(self.clock)
        self._generations: dict[BindingKey, int] = {}
        self._clusters: dict[str, str] = {}
        self._backoff: dict[BindingKey, float] = {}
        self._placed: dict[tuple[Any, ...], placement.ScheduleResult] = {}
        """Engine results by :func:`placement_key`."""

    async def run(self) -> None:
        self._queue = kube_workqueue.WorkQueue(self.clock)
        self._generations, self._clusters, self._backoff = {}, {}, {}
        try:
            async with asyncio.TaskGroup() as tg:
                for key, rt in self.binding_rts.items():
                    tg.create_task(kube_workqueue.watch(self.host, rt, self._on_binding(key)))
                tg.create_task(kube_workqueue.watch(self.host, self.clusters_rt, self._on_cluster))
                tg.create_task(kube_workqueue.drain(self._queue, self.reconcile, controller="karmada-scheduler"))
        finally:
            self._queue.close()

    # --- events -----------------------------------------------------------------------------

    def _on_binding(self, rt_key: tuple[str, str]) -> Callable[[WatchEvent], None]:
        def on_event(event: WatchEvent) -> None:
            meta = event.object["metadata"]
            key: BindingKey = (rt_key, str(meta.get("namespace") or ""), str(meta["name"]))
            if event.type == "DELETED":
                self._generations.pop(key, None)
                self._backoff.pop(key, None)
                return
            generation = int(meta.get("generation") or 0)
            if self._generations.get(key) == generation:
                return
            self._generations[key] = generation
            self._queue.add(key)

        return on_event

    def _on_cluster(self, event: WatchEvent) -> None:
        meta = event.object["metadata"]
        name = str(meta["name"])
        if event.type == "DELETED":
            self._clusters.pop(name, None)
        else:
            fingerprint = placement_fingerprint(
                {"l": meta.get("labels") or {}, "g": meta.get("generation"), "d": meta.get("deletionTimestamp")}
            )
            if self._clusters.get(name) == fingerprint:
                return
            self._clusters[name] = fingerprint
        self.enqueue_all()

    def enqueue_all(self) -> None:
        for rt_key, rt in self.binding_rts.items():
            for binding in self.host.iter_raw(rt):
                meta = binding["metadata"]
                self._queue.add((rt_key, str(meta.get("namespace") or ""), str(meta["name"])))

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: BindingKey) -> None:
        rt_key, namespace, name = key
        rt = self.binding_rts[rt_key]
        # Read only: writes go to copies.
        binding = self.host.peek(rt, namespace or None, name)
        if binding is None or binding["metadata"].get("deletionTimestamp"):
            return
        spec = binding.get("spec") or {}
        if (spec.get("schedulerName") or DEFAULT_SCHEDULER) != DEFAULT_SCHEDULER:
            return
        if not self.needs_scheduling(binding):
            status = dict(binding.get("status") or {})
            if status.get("schedulerObservedGeneration") != binding["metadata"]["generation"]:
                status["schedulerObservedGeneration"] = binding["metadata"]["generation"]
                self.host.replace_status(rt, namespace or None, name, binding, status)
            return
        self._schedule(key, binding)

    def needs_scheduling(self, binding: Mapping[str, Any]) -> bool:
        """``doScheduleBinding``'s decision (spec section 2)."""
        spec = binding.get("spec") or {}
        placement_spec = spec.get("placement") or {}
        applied = annotations_of(binding).get(APPLIED_PLACEMENT)
        if applied is None or applied != placement_fingerprint(placement_spec):
            return True
        replicas = int(spec.get("replicas") or 0)
        clusters = spec.get("clusters") or []
        duplicated = strategy.replica_scheduling_strategy(placement_spec) == strategy.DUPLICATED
        if duplicated and any(int(c.get("replicas") or 0) != replicas for c in clusters):
            return True
        if strategy.is_divided(placement_spec) and sum(int(c.get("replicas") or 0) for c in clusters) != replicas:
            return True
        if reschedule_requested(binding):
            return True
        workload = replicas > 0 or spec.get("replicaRequirements") is not None or bool(spec.get("components"))
        if not workload or duplicated:
            return True
        targeted = {c.get("name") for c in clusters}
        for cluster in self.host.iter_raw(self.clusters_rt):
            if cluster["metadata"]["name"] in targeted and cluster["metadata"].get("deletionTimestamp"):
                return True
        return False

    def _place(self, request: placement.ScheduleRequest, placement_json: str) -> placement.ScheduleResult:
        """The engine's result for ``request``, from the cache when an alike request was placed."""
        key = placement_key(request, placement_json)
        found = self._placed.get(key)
        if found is None:
            found = self.place(request)  # a NoFit raises, so it is never kept: the next try asks the engine again
            if len(self._placed) >= PLACEMENT_CACHE_SIZE:
                self._placed.clear()
            self._placed[key] = found
        return found

    def _schedule(self, key: BindingKey, binding: Obj) -> None:
        rt_key, namespace, name = key
        rt = self.binding_rts[rt_key]
        spec = binding.get("spec") or {}
        status = binding.get("status") or {}
        resource = spec.get("resource") or {}
        placement_spec = spec.get("placement") or {}
        placement_json = placement_fingerprint(placement_spec)
        error: placement.NoFit | None = None
        result: placement.ScheduleResult | None = None
        try:
            result = self._place(
                placement.ScheduleRequest(
                    placement=placement_spec,
                    replicas=int(spec.get("replicas") or 0),
                    clusters=list(self.host.iter_raw(self.clusters_rt)),
                    replica_requirements=spec.get("replicaRequirements"),
                    previous=list(spec.get("clusters") or ()),
                    uid=str(resource.get("uid") or ""),
                    resource=(str(resource.get("apiVersion") or ""), str(resource.get("kind") or "")),
                    evicted={str(t.get("fromCluster")) for t in spec.get("gracefulEvictionTasks") or ()},
                    reschedule=reschedule_requested(binding),
                    observed_affinity_name=str(status.get("schedulerObservingAffinityName") or ""),
                ),
                placement_json,
            )
        except placement.NoFit as exc:
            error = exc
        if result is not None or (error is not None and error.reason == placement.NO_CLUSTER_FIT):
            # New top level, metadata, annotations and spec over the stored binding's other values.
            meta = binding["metadata"]
            annotations = {**(meta.get("annotations") or {}), APPLIED_PLACEMENT: placement_json}
            new_spec = dict(spec)
            updated = {**binding, "metadata": {**meta, "annotations": annotations}, "spec": new_spec}
            new_clusters = [dict(c) for c in result.clusters] if result is not None else []
            if new_clusters:
                new_spec["clusters"] = new_clusters
            else:
                new_spec.pop("clusters", None)
            if updated != binding:
                binding = self.host.update(rt, namespace or None, name, updated, copy_result=False, copy_input=False)
                # The event of this write is old news: what it would make a reconcile decide is
                # decided here (the status below says this generation was scheduled).
                self._generations[key] = int(binding["metadata"].get("generation") or 0)
                log.info(
                    "binding.scheduled",
                    binding=f"{namespace}/{name}" if namespace else name,
                    clusters=[f"{c['name']}:{c.get('replicas', '-')}" for c in new_clusters],
                )
        stamp = self.clock.timestamp()
        new_status = dict(binding.get("status") or {})
        if error is None:
            condition = kube_conditions.condition(SCHEDULED, "True", SUCCESS_REASON, SUCCESS_MESSAGE)
            new_status["schedulerObservedGeneration"] = binding["metadata"]["generation"]
            new_status["lastScheduledTime"] = stamp
            if result is not None and result.affinity_name:
                new_status["schedulerObservingAffinityName"] = result.affinity_name
            self._backoff.pop(key, None)
        else:
            condition = kube_conditions.condition(SCHEDULED, "False", error.reason, error.message)
            log.info("binding.unschedulable", binding=f"{namespace}/{name}", reason=error.reason, message=error.message)
        new_status["conditions"] = kube_conditions.set_condition(new_status.get("conditions"), condition, stamp)
        if new_status != (binding.get("status") or {}):
            self.host.replace_status(rt, namespace or None, name, binding, new_status)
        if error is not None and error.reason != placement.NO_CLUSTER_FIT:
            delay = self._backoff.get(key, RETRY_INITIAL_SECONDS)
            self._backoff[key] = min(delay * 2, RETRY_MAX_SECONDS)
            self._queue.add_after(key, delay)
