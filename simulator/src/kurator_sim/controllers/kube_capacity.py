"""Where a member's pods would run: a first-fit kube-scheduler over the member's nodes.

There are no pods in the simulator, so a member's pod demand is read from what creates them:
Deployments (``spec.replicas`` pods of the template), Volcano ``Job``s that are ``Running`` (each
task's replicas) and any ``Pod`` objects someone created. Demands are placed in creation order
onto Ready, schedulable nodes (sorted by name) that match the pod's ``nodeSelector`` and required
node affinity and whose ``NoSchedule``/``NoExecute`` taints it tolerates, first fit, counting
every requested resource and one ``pods`` slot per pod. What a pod requests and which nodes may
hold it are :mod:`shared.gang`'s rules (the same the simulated Volcano and the apps service
use); the bulk first-fit below is this module's, in integer thousandths because it places every
replica of every workload on every pass. A node counts as Ready only with a ``Ready=True``
condition, as Karmada's ``nodeSummary.readyNum`` counts it. The result says how many pods of
each workload are scheduled, and what Karmada's cluster status reports as ``allocated``
(requests of scheduled pods) and ``allocating`` (requests of pods still pending).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kurator_sim.controllers import kube_conditions, kube_quantity
from kurator_sim.controllers.kube_quantity import ResourceList
from kurator_sim.store.objects import ObjectStore
from shared.gang import predicates, resources
from shared.gang.nodes import Node
from shared.gang.pods import PodShape

Obj = dict[str, Any]
WorkloadKey = tuple[str, str, str]
"""``(kind, namespace, name)``: ``Deployment``, ``Job`` (Volcano) or ``Pod``."""

EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge"


def _milli(rl: Mapping[str, Decimal]) -> dict[str, int]:
    return {name: kube_quantity.milli_value(q) for name, q in rl.items()}


@dataclass(slots=True)
class Demand:
    key: WorkloadKey
    count: int
    shape: PodShape
    """One pod: its requests (``pods`` included), node selection and tolerations."""
    order: tuple[str, str, str]
    node_name: str | None = None
    per_pod: dict[str, int] = field(default_factory=dict)
    """Thousandths of each resource one pod takes, ``pods`` included (derived from ``shape``)."""
    claim: str = ""
    """The pod's node selection and tolerations, as a key for the nodes that may hold it."""

    def __post_init__(self) -> None:
        self.per_pod = {name: need for name, need in _milli(self.shape.requests).items() if need > 0}
        self.per_pod[resources.PODS] = 1000
        self.claim = self.shape.constraint_key


@dataclass(slots=True)
class Packing:
    scheduled: dict[WorkloadKey, int]
    allocated: ResourceList
    allocating: ResourceList
    nodes: list[Node]

    def scheduled_of(self, key: WorkloadKey) -> int:
        return self.scheduled.get(key, 0)


def read_nodes(store: ObjectStore) -> list[Node]:
    rt = store.registry.by_key(("", "nodes"))
    out = []
    for obj in store.iter_raw(rt):
        node = Node.from_dict(obj)
        ready = kube_conditions.is_true(obj, "Ready")
        out.append(node if node.ready == ready else dataclasses.replace(node, ready=ready))
    out.sort(key=lambda n: n.name)
    return out


def _order(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _pod_demand(kind: str, obj: Mapping[str, Any], pod_spec: Mapping[str, Any], count: int) -> Demand:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    return Demand(
        key=(kind, str(meta.get("namespace") or ""), name),
        count=count,
        shape=PodShape.from_template(name, "", pod_spec),
        order=_order(obj),
    )


class DemandCache:
    """Parsed pod demands per object, reused while the object's specification is unchanged."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[Any, list[Demand]]] = {}
        self._seen: dict[tuple[str, str], tuple[Any, list[Demand]]] = {}

    def get(self, kind: str, obj: Mapping[str, Any], stamp: Any, build: Callable[[], list[Demand]]) -> list[Demand]:
        key = (kind, str(obj["metadata"].get("uid")))
        entry = self._entries.get(key)
        if entry is None or entry[0] != stamp:
            entry = (stamp, build())
        self._seen[key] = entry
        return entry[1]

    def start(self) -> None:
        self._seen = {}

    def finish(self) -> None:
        self._entries = self._seen


def _deployment_demands(obj: Mapping[str, Any]) -> list[Demand]:
    spec = obj.get("spec") or {}
    replicas = 1 if spec.get("replicas") is None else int(spec.get("replicas") or 0)
    pod_spec = ((spec.get("template") or {}).get("spec")) or {}
    return [_pod_demand("Deployment", obj, pod_spec, replicas)] if replicas > 0 else []


def _job_demands(obj: Mapping[str, Any]) -> list[Demand]:
    if ((obj.get("status") or {}).get("state") or {}).get("phase") != "Running":
        return []
    out = []
    for task in (obj.get("spec") or {}).get("tasks") or ():
        count = int(task.get("replicas") or 0)
        pod_spec = ((task.get("template") or {}).get("spec")) or {}
        if count > 0:
            out.append(_pod_demand("Job", obj, pod_spec, count))
    return out


def _pod_demands(obj: Mapping[str, Any]) -> list[Demand]:
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return []
    pod_spec = obj.get("spec") or {}
    demand = _pod_demand("Pod", obj, pod_spec, 1)
    demand.node_name = pod_spec.get("nodeName") or None
    return [demand]


def read_demands(store: ObjectStore, cache: DemandCache | None = None) -> list[Demand]:
    cache = cache or DemandCache()
    cache.start()
    demands: list[Demand] = []
    registry = store.registry
    sources: tuple[
        tuple[tuple[str, str, str], Callable[[Mapping[str, Any]], list[Demand]], Callable[[Obj], Any]], ...
    ] = (
        (("apps", "v1", "Deployment"), _deployment_demands, lambda o: o["metadata"].get("generation")),
        (("batch.volcano.sh", "v1alpha1", "Job"), _job_demands, lambda o: o["metadata"].get("resourceVersion")),
        (("", "v1", "Pod"), _pod_demands, lambda o: o["metadata"].get("resourceVersion")),
    )
    for (group, version, kind), build, stamp_of in sources:
        rt = registry.by_kind(group, version, kind)
        if rt is None:
            continue
        for obj in store.iter_raw(rt):
            if obj["metadata"].get("deletionTimestamp"):
                continue
            demands.extend(cache.get(kind, obj, stamp_of(obj), functools.partial(build, obj)))
    cache.finish()
    demands.sort(key=lambda d: (d.node_name is None, d.order))
    return demands


def pack(nodes: list[Node], demands: list[Demand]) -> Packing:
    """First-fit placement of ``demands`` (in order) onto ``nodes``."""
    free = [_milli(node.allocatable) for node in nodes]
    index = {node.name: i for i, node in enumerate(nodes)}
    eligible: dict[str, list[int]] = {}
    scheduled: dict[WorkloadKey, int] = {}
    allocated: dict[str, int] = {"cpu": 0, "memory": 0, "pods": 0}
    allocating: dict[str, int] = {"cpu": 0, "memory": 0, "pods": 0}
    for demand in demands:
        per_pod = demand.per_pod
        left = demand.count
        placed = 0
        if demand.node_name is not None:
            # Already bound by someone else's scheduler: it holds its node's resources.
            bound = index.get(demand.node_name)
            if bound is not None:
                for name, need in per_pod.items():
                    free[bound][name] = free[bound].get(name, 0) - need
            placed, left = left, 0
        else:
            candidates = eligible.get(demand.claim)
            if candidates is None:
                candidates = eligible[demand.claim] = [
                    i for i, node in enumerate(nodes) if predicates.eligible(demand.shape, node)
                ]
            for i in candidates:
                if left == 0:
                    break
                room = free[i]
                n = left
                for name, need in per_pod.items():
                    n = min(n, room.get(name, 0) // need)
                    if n <= 0:
                        break
                if n <= 0:
                    continue
                for name, need in per_pod.items():
                    room[name] = room.get(name, 0) - need * n
                placed += n
                left -= n
        scheduled[demand.key] = scheduled.get(demand.key, 0) + placed
        for name, need in per_pod.items():
            allocated[name] = allocated.get(name, 0) + need * placed
            allocating[name] = allocating.get(name, 0) + need * left
    return Packing(
        scheduled,
        {name: Decimal(v) / 1000 for name, v in allocated.items()},
        {name: Decimal(v) / 1000 for name, v in allocating.items()},
        nodes,
    )


def member_packing(store: ObjectStore, cache: DemandCache | None = None) -> Packing:
    return pack(read_nodes(store), read_demands(store, cache))
