"""Where a member's pods would run: a first-fit kube-scheduler over the member's nodes.

There are no pods in the simulator, so a member's pod demand is read from what creates them:
Deployments (``spec.replicas`` pods of the template), Volcano ``Job``s that are ``Running`` (each
task's replicas) and any ``Pod`` objects someone created. Demands are placed in creation order
onto Ready, schedulable nodes (sorted by name) that match the pod's ``nodeSelector`` and whose
``NoSchedule``/``NoExecute`` taints it tolerates, first fit, counting every requested resource
and one ``pods`` slot per pod. The result says how many pods of each workload are scheduled,
and what Karmada's cluster status reports as ``allocated`` (requests of scheduled pods) and
``allocating`` (requests of pods still pending).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kurator_sim.controllers import kube_conditions, kube_quantity
from kurator_sim.controllers.kube_quantity import ResourceList
from kurator_sim.controllers.placement import untolerated_taint
from kurator_sim.store.objects import ObjectStore

Obj = dict[str, Any]
WorkloadKey = tuple[str, str, str]
"""``(kind, namespace, name)``: ``Deployment``, ``Job`` (Volcano) or ``Pod``."""

EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge"
_ONE_POD = Decimal(1)


def _milli(rl: Mapping[str, Decimal]) -> dict[str, int]:
    return {name: kube_quantity.milli_value(q) for name, q in rl.items()}


@dataclass(slots=True)
class Node:
    name: str
    allocatable: ResourceList
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    ready: bool
    schedulable: bool
    free: ResourceList = field(default_factory=dict)


@dataclass(slots=True)
class Demand:
    key: WorkloadKey
    count: int
    request: ResourceList
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    order: tuple[str, str, str]
    node_name: str | None = None
    per_pod: dict[str, int] = field(default_factory=dict)
    """Thousandths of each resource one pod takes, ``pods`` included (derived from ``request``)."""
    claim: str = ""
    """Node selector and tolerations, as a key for nodes that may hold the pod."""

    def __post_init__(self) -> None:
        self.per_pod = {name: need for name, need in _milli(self.request).items() if need > 0}
        self.per_pod["pods"] = 1000
        self.claim = repr((sorted(self.node_selector.items()), self.tolerations))


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
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        out.append(
            Node(
                name=obj["metadata"]["name"],
                allocatable=kube_quantity.parse_list(status.get("allocatable") or status.get("capacity")),
                labels=dict(obj["metadata"].get("labels") or {}),
                taints=list(spec.get("taints") or ()),
                ready=kube_conditions.is_true(obj, "Ready"),
                schedulable=not spec.get("unschedulable"),
            )
        )
    out.sort(key=lambda n: n.name)
    return out


def _order(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _pod_demand(kind: str, obj: Mapping[str, Any], pod_spec: Mapping[str, Any], count: int) -> Demand:
    meta = obj.get("metadata") or {}
    return Demand(
        key=(kind, str(meta.get("namespace") or ""), str(meta.get("name") or "")),
        count=count,
        request=kube_quantity.pod_requests(pod_spec),
        node_selector=dict(pod_spec.get("nodeSelector") or {}),
        tolerations=list(pod_spec.get("tolerations") or ()),
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


def _eligible(node: Node, demand: Demand) -> bool:
    if not (node.ready and node.schedulable):
        return False
    if any(node.labels.get(k) != v for k, v in demand.node_selector.items()):
        return False
    return untolerated_taint(node.taints, demand.tolerations, ("NoSchedule", "NoExecute")) is None


def pack(nodes: list[Node], demands: list[Demand]) -> Packing:
    """First-fit placement of ``demands`` (in order) onto ``nodes``; sets each node's ``free``."""
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
                candidates = eligible[demand.claim] = [i for i, node in enumerate(nodes) if _eligible(node, demand)]
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
    for node, room in zip(nodes, free, strict=True):
        node.free = {name: Decimal(v) / 1000 for name, v in room.items()}
    return Packing(
        scheduled,
        {name: Decimal(v) / 1000 for name, v in allocated.items()},
        {name: Decimal(v) / 1000 for name, v in allocating.items()},
        nodes,
    )


def member_packing(store: ObjectStore, cache: DemandCache | None = None) -> Packing:
    return pack(read_nodes(store), read_demands(store, cache))
