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

import bisect
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import orjson

from kurator_sim.controllers import kube_conditions, kube_quantity
from kurator_sim.controllers.kube_quantity import ResourceList
from kurator_sim.resources import ResourceType
from kurator_sim.store.objects import ObjectStore
from shared.gang import predicates, resources
from shared.gang.nodes import Node
from shared.gang.pods import PodShape

Obj = dict[str, Any]
WorkloadKey = tuple[str, str, str]
_Rank = tuple[bool, tuple[str, str, str], int]
"""Where a demand goes in packing order: bound pods first, then by creation, then by source."""
"""``(kind, namespace, name)``: ``Deployment``, ``Job`` (Volcano) or ``Pod``."""

EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge"


_POD_SLOT = 1000
"""What one pod takes of ``pods``, in thousandths."""


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
    """Thousandths of each resource one pod takes, ``pods`` included (derived from ``shape``;
    read only: demands of equal pod specs share it)."""
    claim: str = ""
    """The pod's node selection and tolerations, as a key for the nodes that may hold it."""

    def __post_init__(self) -> None:
        if self.per_pod and self.claim:
            return  # derived already (from a cached shape): read only, shared by equal pods
        self.per_pod = {name: need for name, need in _milli(self.shape.requests).items() if need > 0}
        self.per_pod[resources.PODS] = _POD_SLOT
        self.claim = self.shape.constraint_key


@dataclass(slots=True)
class Packing:
    scheduled: Mapping[WorkloadKey, int]
    """Pods scheduled per workload. From a packing with a cache: the cache's own counts, read
    only, that hold for this packing until the next one with the same cache (no copy of every
    workload's count on every packing)."""
    allocated: ResourceList
    allocating: ResourceList
    nodes: list[Node]
    changed: frozenset[WorkloadKey] | None = None
    """The workloads whose count differs from the last packing with the same cache (``None``: any may)."""

    def scheduled_of(self, key: WorkloadKey) -> int:
        return self.scheduled.get(key, 0)


def _node(obj: Mapping[str, Any]) -> Node:
    node = Node.from_dict(obj)
    ready = kube_conditions.is_true(obj, "Ready")
    return node if node.ready == ready else dataclasses.replace(node, ready=ready)


def read_nodes(store: ObjectStore) -> list[Node]:
    rt = store.registry.by_key(("", "nodes"))
    return sorted((_node(obj) for obj in store.iter_raw(rt)), key=lambda n: n.name)


def _order(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


_SHAPES: dict[bytes, Demand] = {}
"""One demand per distinct pod spec (its canonical JSON): shape, per-pod thousandths and claim."""
_SHAPES_MAX = 4096


def _shape_of(pod_spec: Mapping[str, Any]) -> Demand | None:
    """A demand for ``pod_spec`` to take the parsed parts from (many workloads share a pod spec)."""
    try:
        key = orjson.dumps(pod_spec, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        found = _SHAPES[key] = Demand(
            key=("", "", ""), count=0, shape=PodShape.from_template("", "", pod_spec), order=("", "", "")
        )
    return found


def _pod_demand(kind: str, obj: Mapping[str, Any], pod_spec: Mapping[str, Any], count: int) -> Demand:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    key = (kind, str(meta.get("namespace") or ""), name)
    parsed = _shape_of(pod_spec)
    if parsed is None:
        return Demand(key=key, count=count, shape=PodShape.from_template(name, "", pod_spec), order=_order(obj))
    shape = parsed.shape
    return Demand(
        key=key,
        count=count,
        # The constructor, not dataclasses.replace (which looks the fields up on every call).
        shape=PodShape(name, shape.task, shape.requests, shape.node_selector, shape.affinity_terms, shape.tolerations),
        order=_order(obj),
        per_pod=parsed.per_pod,
        claim=parsed.claim,
    )


_BUILT: dict[tuple[str, str, Any], list[Demand]] = {}
"""Demands by ``(kind, uid, stamp)``: every cache of a member (the Deployment controller's, the
cluster status controller's) reads each object, and builds its demands once between them (read
only: the same demands may be in several caches)."""
_BUILT_MAX = 16384


class DemandCache:
    """Parsed pod demands per object, reused while the object's specification is unchanged.

    After the first full read it follows the store's history: only objects written since the
    last read are looked at again.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[Any, int, list[Demand]]] = {}
        """``(kind, uid)``: the stamp the demands were built at, their source's index, the demands."""
        self._store: ObjectStore | None = None
        self._rv = 0
        self._ranks: list[_Rank] = []
        self._sorted: list[Demand] = []
        """Every demand in packing order, and its rank in ``_ranks`` at the same index."""
        self._added: list[tuple[_Rank, Demand]] = []
        self._removed: dict[int, Demand] = {}
        """Demands gone since the last read, by ``id()`` (held, so no other takes their id)."""
        self._low = 0
        """Where ``_sorted`` first differs from the order the packer last placed (``packing``)."""
        self._nodes: dict[str, tuple[Any, Node]] = {}
        self._node_list: list[Node] | None = None
        """The nodes as ``packing`` last read them; ``None`` once a node was written since."""
        self._sources: tuple[ObjectStore, dict[tuple[str, str], tuple[int, ResourceType]], tuple[str, str]] | None
        self._sources = None
        """The store read, its resources that hold demands (by key) and the nodes' key."""
        self.packer: _Packer | None = None

    def _put(self, source: int, obj: Mapping[str, Any]) -> None:
        (_, _, kind), build, stamp_field = _SOURCES[source]
        meta = obj["metadata"]
        key = (kind, str(meta.get("uid")))
        if meta.get("deletionTimestamp"):
            self._forget(self._entries.pop(key, None))
            return
        stamp = meta.get(stamp_field)
        entry = self._entries.get(key)
        if entry is None or entry[0] != stamp:
            self._forget(entry)
            built_key = (kind, key[1], stamp)
            demands = _BUILT.get(built_key) if stamp is not None else None
            if demands is None:
                demands = build(obj)
                if stamp is not None:
                    if len(_BUILT) >= _BUILT_MAX:
                        _BUILT.clear()
                    _BUILT[built_key] = demands
            self._entries[key] = (stamp, source, demands)
            # Ties in rank are only between one object's demands, which keep their own order.
            self._added.extend(((d.node_name is None, d.order, source), d) for d in demands)

    def _forget(self, entry: tuple[Any, int, list[Demand]] | None) -> None:
        if entry is not None:
            self._removed.update((id(d), d) for d in entry[2])

    def _drop(self, source: int, obj: Mapping[str, Any]) -> None:
        self._forget(self._entries.pop((_SOURCES[source][0][2], str(obj["metadata"].get("uid"))), None))

    def nodes(self, store: ObjectStore) -> list[Node]:
        """``read_nodes``, parsing only the nodes written since they were last parsed."""
        rt = store.registry.by_key(("", "nodes"))
        out = []
        seen: dict[str, tuple[Any, Node]] = {}
        for obj in store.iter_raw(rt):
            meta = obj["metadata"]
            name, stamp = str(meta.get("name") or ""), meta.get("resourceVersion")
            entry = self._nodes.get(name)
            if entry is None or entry[0] != stamp:
                entry = (stamp, _node(obj))
            seen[name] = entry
            out.append(entry[1])
        self._nodes = seen
        out.sort(key=lambda n: n.name)
        return out

    def read(self, store: ObjectStore) -> list[Demand]:
        self._refresh(store)
        return list(self._sorted)

    def packing(self, store: ObjectStore) -> Packing:
        """``pack(nodes, read(store), self)``, placing again only from the first demand that changed."""
        self._refresh(store)
        nodes = self._node_list
        if nodes is None:
            nodes = self._node_list = self.nodes(store)
        packer = self.packer
        if packer is None or packer.nodes != nodes:
            packer = self.packer = _Packer(nodes)
        if packer.source is self:
            # The packer holds this cache's order as of the last packing: the demands before
            # ``_low`` are the ones it placed, no need to compare them one by one.
            packer.repack(self._sorted, min(self._low, len(packer.demands)))
        else:
            packer.repack(self._sorted)
        packer.source, self._low = self, len(self._sorted)
        return packer.packing(kept=True)

    def _refresh(self, store: ObjectStore) -> None:
        """Follow the store's writes since the last read (everything, the first time)."""
        if self._sources is None or self._sources[0] is not store:
            sources = {}
            for index, ((group, version, kind), _, _) in enumerate(_SOURCES):
                rt = store.registry.by_kind(group, version, kind)
                if rt is not None:
                    sources[rt.key] = (index, rt)
            self._sources = (store, sources, store.registry.by_key(("", "nodes")).key)
        _, sources, nodes_key = self._sources
        changes = store.changes_since(self._rv) if self._store is store else None
        if changes is None:
            self._entries, self._store = {}, store
            self._ranks, self._sorted, self._added, self._removed = [], [], [], {}
            self._low, self._node_list = 0, None
            for index, rt in sources.values():
                for obj in store.iter_raw(rt):
                    self._put(index, obj)
        else:
            for change in changes:
                found = sources.get(change.key)
                if found is None:
                    if change.key == nodes_key:
                        self._node_list = None
                    continue
                if change.type == "DELETED":
                    self._drop(found[0], change.new)
                else:
                    self._put(found[0], change.new)
        self._rv = store.resource_version
        self._reorder()

    def _reorder(self) -> None:
        """Take removed demands out of the order and put added ones in their place.

        Ranks order sources, then objects by creation (no two objects of a source share
        one), then each object's demands in their own order: the same for any history.
        """
        added, self._added = self._added, []
        if self._removed:
            removed = self._removed
            kept = [i for i, d in enumerate(self._sorted) if id(d) not in removed]
            for i, d in enumerate(self._sorted):
                if id(d) in removed:
                    self._low = min(self._low, i)
                    break
            self._ranks = [self._ranks[i] for i in kept]
            self._sorted = [self._sorted[i] for i in kept]
            added = [pair for pair in added if id(pair[1]) not in removed]
            self._removed = {}
        if not added:
            return
        added.sort(key=lambda pair: pair[0])
        if not self._ranks or added[0][0] >= self._ranks[-1]:
            # The usual case: newly created objects come last.
            self._low = min(self._low, len(self._sorted))
            self._ranks.extend(rank for rank, _ in added)
            self._sorted.extend(d for _, d in added)
            return
        for rank, demand in added:
            at = bisect.bisect_right(self._ranks, rank)
            self._low = min(self._low, at)
            self._ranks.insert(at, rank)
            self._sorted.insert(at, demand)


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


_SOURCES: tuple[tuple[tuple[str, str, str], Callable[[Mapping[str, Any]], list[Demand]], str], ...] = (
    (("apps", "v1", "Deployment"), _deployment_demands, "generation"),
    (("batch.volcano.sh", "v1alpha1", "Job"), _job_demands, "resourceVersion"),
    (("", "v1", "Pod"), _pod_demands, "resourceVersion"),
)
"""Where demands come from: kind, how to read them, and the metadata field that changes with them."""


def read_demands(store: ObjectStore, cache: DemandCache | None = None) -> list[Demand]:
    """Every pod demand of the member, in packing order (bound pods first, then by creation)."""
    return (cache or DemandCache()).read(store)


class _Packer:
    """First-fit state that can be rewound: each placed demand records what it took.

    First fit decides each demand from the demands before it only, so when a new demand list
    shares a prefix with the last one, undoing the rest and placing the new tail gives the
    same result as packing everything again, at the cost of the tail.
    """

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.free = [_milli(node.allocatable) for node in nodes]
        self.index = {node.name: i for i, node in enumerate(nodes)}
        self.eligible: dict[str, list[int]] = {}
        self.demands: list[Demand] = []
        self.taken: list[tuple[int, list[tuple[int, int]]]] = []
        """Per placed demand: pods placed and ``(node index, pods)`` taken from ``free``."""
        self.scheduled: dict[WorkloadKey, int] = {}
        self.keys: dict[WorkloadKey, int] = {}
        """How many placed demands count towards each workload (its entry goes with the last)."""
        self.allocated: dict[str, int] = {"cpu": 0, "memory": 0, "pods": 0}
        self.allocating: dict[str, int] = {"cpu": 0, "memory": 0, "pods": 0}
        self.resources: dict[str, int] = {}
        """How many placed demands request each resource (its totals are reported while any does)."""
        self.before: dict[WorkloadKey, int] | None = None
        """The count (-1: none) at the last ``packing()`` of each workload whose demands were
        undone or placed since (``None``: no packing yet)."""
        self.full: dict[str, int] = {}
        """Per claim: how many of its first eligible nodes have no pod slot left (skipped by first fit)."""
        self.source: DemandCache | None = None
        """The cache whose order ``demands`` is, as of its last ``packing`` (``None``: another list)."""

    def rewind(self, keep: int) -> None:
        """Undo every demand after the first ``keep``."""
        free, allocated, allocating = self.free, self.allocated, self.allocating
        while len(self.demands) > keep:
            demand = self.demands.pop()
            placed, taken = self.taken.pop()
            per_pod = demand.per_pod
            if taken:
                self.full.clear()  # room again on nodes first fit skipped
            for i, n in taken:
                room = free[i]
                for name, need in per_pod.items():
                    room[name] = room.get(name, 0) + need * n
            left = demand.count - placed if demand.node_name is None else 0
            for name, need in per_pod.items():
                allocated[name] -= need * placed
                allocating[name] -= need * left
                self.resources[name] -= 1
            key = demand.key
            if self.before is not None and key not in self.before:
                self.before[key] = self.scheduled.get(key, -1)
            self.scheduled[key] -= placed
            self.keys[key] -= 1
            if not self.keys[key]:
                del self.keys[key], self.scheduled[key]

    def place(self, demand: Demand) -> None:
        per_pod = demand.per_pod
        free = self.free
        left = demand.count
        placed = 0
        taken: list[tuple[int, int]] = []
        if demand.node_name is not None:
            # Already bound by someone else's scheduler: it holds its node's resources.
            bound = self.index.get(demand.node_name)
            if bound is not None:
                for name, need in per_pod.items():
                    free[bound][name] = free[bound].get(name, 0) - need
                taken.append((bound, 1))
            placed, left = left, 0
        else:
            claim = demand.claim
            candidates = self.eligible.get(claim)
            if candidates is None:
                candidates = self.eligible[claim] = [
                    i for i, node in enumerate(self.nodes) if predicates.eligible(demand.shape, node)
                ]
            # Every pod takes a pod slot: nodes with none left hold nothing more (until a rewind).
            start = self.full.get(claim, 0)
            while start < len(candidates) and free[candidates[start]].get(resources.PODS, 0) < _POD_SLOT:
                start += 1
            self.full[claim] = start
            for i in candidates[start:] if start else candidates:
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
                taken.append((i, n))
                placed += n
                left -= n
        key = demand.key
        if self.before is not None and key not in self.before:
            self.before[key] = self.scheduled.get(key, -1)
        self.scheduled[key] = self.scheduled.get(key, 0) + placed
        self.keys[key] = self.keys.get(key, 0) + 1
        allocated, allocating, counted = self.allocated, self.allocating, self.resources
        for name, need in per_pod.items():
            allocated[name] = allocated.get(name, 0) + need * placed
            allocating[name] = allocating.get(name, 0) + need * left
            counted[name] = counted.get(name, 0) + 1
        self.demands.append(demand)
        self.taken.append((placed, taken))

    def repack(self, demands: list[Demand], keep: int | None = None) -> None:
        """Place ``demands``, reusing what was placed for their first ``keep`` (else: the prefix they share)."""
        if keep is None:
            old = self.demands
            keep, limit = 0, min(len(old), len(demands))
            while keep < limit and old[keep] is demands[keep]:
                keep += 1
        self.rewind(keep)
        for demand in demands[keep:]:
            self.place(demand)

    def packing(self, *, kept: bool) -> Packing:
        """The packing as it stands; ``kept``: this packer goes on (its counts are shown read only)."""
        shown = ("cpu", "memory", "pods")
        names = [*shown, *(name for name, n in self.resources.items() if n and name not in shown)]
        changed = None
        scheduled = self.scheduled
        if self.before is not None:
            changed = frozenset(key for key, was in self.before.items() if scheduled.get(key, -1) != was)
        self.before = {}
        return Packing(
            MappingProxyType(scheduled) if kept else scheduled,
            {name: Decimal(self.allocated[name]) / 1000 for name in names},
            {name: Decimal(self.allocating[name]) / 1000 for name in names},
            self.nodes,
            changed,
        )


def pack(nodes: list[Node], demands: list[Demand], cache: DemandCache | None = None) -> Packing:
    """First-fit placement of ``demands`` (in order) onto ``nodes``.

    With a ``cache``, the last packing over the same nodes is reused up to the first demand
    that differs from the last call's.
    """
    packer = cache.packer if cache is not None else None
    if packer is None or packer.nodes != nodes:
        packer = _Packer(nodes)
        if cache is not None:
            cache.packer = packer
    packer.repack(demands)
    packer.source = None
    return packer.packing(kept=cache is not None)


def member_packing(store: ObjectStore, cache: DemandCache | None = None) -> Packing:
    """Where the member's pods run; with a ``cache``, only what changed since its last packing is looked at."""
    if cache is None:
        return pack(read_nodes(store), read_demands(store))
    return cache.packing(store)
