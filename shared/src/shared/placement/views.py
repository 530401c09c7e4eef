"""What the engine reads from ``Cluster`` objects, computed once per object and once per fleet.

A :class:`ClusterView` holds one cluster's scheduling facts (labels, provider, region, zones,
blocking taints, enabled APIs, free resources from ``status.resourceSummary``) parsed once;
views are cached by object identity and ``resourceVersion``, so an unchanged cluster is never
parsed twice. A :class:`Snapshot` is the fleet as one decision sees it (Karmada's scheduler
cache snapshot): the views in input order plus indexes that turn every filter into integer
bit operations (bit ``i`` stands for ``views[i]``). Indexes are built lazily and kept with the
snapshot, so decisions over the same fleet share them. Cluster objects are treated as
immutable values, as informer caches and the simulator's store hand them out: a changed
cluster is a new object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress
from typing import Any, TypeVar

from shared.placement import resources

BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")
MAX_INT32 = 2**31 - 1

T = TypeVar("T")

_VIEW_CACHE_SIZE = 16384
_SNAPSHOT_CACHE_SIZE = 8
_MEMO_SIZE = 256


@dataclass(frozen=True, slots=True)
class ModelGrade:
    """One grade of ``status.resourceSummary.allocatableModelings`` with its minimum resources."""

    count: int
    minimum: Mapping[str, Decimal]


@dataclass(slots=True)
class ClusterView:
    """One ``Cluster``'s scheduling facts."""

    name: str
    obj: Mapping[str, Any]
    resource_version: object
    labels: Mapping[str, str]
    provider: str
    region: str
    zones: tuple[str, ...]
    blocking_taints: tuple[Mapping[str, Any], ...]
    """Taints with effect ``NoSchedule`` or ``NoExecute``, in spec order."""
    deleting: bool
    apis: frozenset[tuple[str, str]]
    """``(groupVersion, kind)`` pairs of ``status.apiEnablements``."""
    has_summary: bool
    allowed_pods: int
    """``Value(allocatable.pods) - Value(allocated.pods) - Value(allocating.pods)``."""
    free: Mapping[str, tuple[int, int]]
    """Per allocatable resource: ``(Value(free), MilliValue(free))``, free = allocatable - allocated - allocating."""
    models: tuple[ModelGrade, ...]
    estimates: dict[object, int] = field(default_factory=dict)
    """Memo of the general estimator per replica-requirement key."""


def _int_value(raw: Mapping[str, Any] | None, name: str) -> int:
    parsed = resources.parse_list({name: (raw or {})[name]} if raw and name in raw else None)
    return resources.value(parsed[name]) if name in parsed else 0


def _models(obj: Mapping[str, Any], summary: Mapping[str, Any]) -> tuple[ModelGrade, ...]:
    modelings = summary.get("allocatableModelings") or ()
    if not modelings:
        return ()
    grades: dict[int, Mapping[str, Decimal]] = {}
    for model in (obj.get("spec") or {}).get("resourceModels") or ():
        minimum = {
            str(r.get("name")): q
            for r in model.get("ranges") or ()
            for q in resources.parse_list({"q": r.get("min")}).values()
        }
        grades[int(model.get("grade") or 0)] = minimum
    return tuple(
        ModelGrade(int(m.get("count") or 0), grades.get(int(m.get("grade") or 0), {}))
        for m in modelings
        if int(m.get("count") or 0) > 0
    )


def build_view(obj: Mapping[str, Any]) -> ClusterView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    summary = status.get("resourceSummary")
    free: dict[str, tuple[int, int]] = {}
    allowed = 0
    models: tuple[ModelGrade, ...] = ()
    if summary:
        allocatable = resources.parse_list(summary.get("allocatable"))
        allocated = resources.parse_list(summary.get("allocated"))
        allocating = resources.parse_list(summary.get("allocating"))
        zero = Decimal(0)
        for name, total in allocatable.items():
            left = total - allocated.get(name, zero) - allocating.get(name, zero)
            free[name] = (resources.value(left), resources.milli_value(left))
        allowed = (
            _int_value(summary.get("allocatable"), resources.PODS)
            - _int_value(summary.get("allocated"), resources.PODS)
            - _int_value(summary.get("allocating"), resources.PODS)
        )
        models = _models(obj, summary)
    apis = frozenset(
        (str(gv.get("groupVersion") or ""), str(r.get("kind") or ""))
        for gv in status.get("apiEnablements") or ()
        for r in gv.get("resources") or ()
    )
    return ClusterView(
        name=str(meta.get("name") or ""),
        obj=obj,
        resource_version=meta.get("resourceVersion"),
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        provider=str(spec.get("provider") or ""),
        region=str(spec.get("region") or ""),
        zones=tuple(str(z) for z in spec.get("zones") or ()),
        blocking_taints=tuple(t for t in spec.get("taints") or () if t.get("effect") in BLOCKING_EFFECTS),
        deleting=bool(meta.get("deletionTimestamp")),
        apis=apis,
        has_summary=bool(summary),
        allowed_pods=allowed,
        free=free,
        models=models,
    )


_views: dict[int, ClusterView] = {}


def view_of(obj: Mapping[str, Any]) -> ClusterView:
    """The (cached) view of one cluster object."""
    cached = _views.get(id(obj))
    if cached is not None and cached.obj is obj:
        meta = obj.get("metadata") or {}
        if meta.get("resourceVersion") == cached.resource_version:
            return cached
    view = build_view(obj)
    if len(_views) >= _VIEW_CACHE_SIZE:
        # Oldest first: dicts keep insertion order. The cache holds the object itself, so an
        # id is never reused for another object while its entry lives.
        for key in list(_views)[: _VIEW_CACHE_SIZE // 4]:
            del _views[key]
    _views[id(obj)] = view
    return view


_DIGITS = bytes.maketrans(b"01", b"\x00\x01")


def pick(items: Sequence[T], mask: int) -> list[T]:
    """The items at the set bits of ``mask``, in order (bit ``i`` is ``items[i]``)."""
    if not mask:
        return []
    # A loop costs per set bit, the C pass per bit position: pick the cheaper.
    if mask.bit_count() * 3 < mask.bit_length():
        out = []
        while mask:
            low = mask & -mask
            out.append(items[low.bit_length() - 1])
            mask ^= low
        return out
    # Dense: one pass in C over the binary digits, least significant first.
    return list(compress(items, bin(mask)[:1:-1].encode().translate(_DIGITS)))


_INDICES = range(1 << 30)


def bits(mask: int) -> list[int]:
    """The indices of the set bits of ``mask``, ascending."""
    return pick(_INDICES, mask)


class Snapshot:
    """The fleet as one decision sees it, with bit-mask indexes over its clusters."""

    def __init__(self, views: Sequence[ClusterView]) -> None:
        self.views: tuple[ClusterView, ...] = tuple(views)
        self.size = len(self.views)
        self.all = (1 << self.size) - 1
        self.names: tuple[str, ...] = tuple(v.name for v in self.views)
        self.index: dict[str, int] = {}
        for i, name in enumerate(self.names):
            self.index.setdefault(name, i)
        order = sorted(range(self.size), key=lambda i: self.names[i])
        self.rank: list[int] = [0] * self.size
        for position, i in enumerate(order):
            self.rank[i] = position
        self.deleting = self.mask(i for i, v in enumerate(self.views) if v.deleting)
        self.tainted: tuple[int, ...] = tuple(i for i, v in enumerate(self.views) if v.blocking_taints)
        self._labels: dict[str, dict[str, int]] | None = None
        self._label_keys: dict[str, int] = {}
        self._fields: dict[str, dict[str, int]] | None = None
        self._has: dict[str, int] = {}
        self._apis: dict[tuple[str, str], int] = {}
        self._estimates: dict[object, tuple[list[int], list[int]]] = {}
        self._regions: list[str] | None = None
        self._untolerated: dict[object, dict[str, int]] = {}
        self._memo: dict[object, Any] = {}
        self._region_ids: list[int] | None = None

    @staticmethod
    def mask(indices: Iterable[int]) -> int:
        out = 0
        for i in indices:
            out |= 1 << i
        return out

    def names_mask(self, names: Iterable[Any]) -> int:
        index = self.index
        return self.mask(index[str(n)] for n in names if str(n) in index)

    # --- label and field indexes ----------------------------------------------------------

    def labels(self) -> dict[str, dict[str, int]]:
        """``{label key: {value: mask}}``."""
        if self._labels is None:
            out: dict[str, dict[str, int]] = {}
            for i, view in enumerate(self.views):
                bit = 1 << i
                for key, val in view.labels.items():
                    by_value = out.setdefault(key, {})
                    by_value[val] = by_value.get(val, 0) | bit
            self._labels = out
        return self._labels

    def label_key(self, key: str) -> int:
        """Clusters that carry label ``key`` (any value)."""
        found = self._label_keys.get(key)
        if found is None:
            found = 0
            for m in self.labels().get(key, {}).values():
                found |= m
            self._label_keys[key] = found
        return found

    def fields(self) -> dict[str, dict[str, int]]:
        """``{"provider"|"region"|"zone": {value: mask}}`` (a cluster is in one mask per zone)."""
        if self._fields is None:
            out: dict[str, dict[str, int]] = {"provider": {}, "region": {}, "zone": {}}
            for i, view in enumerate(self.views):
                bit = 1 << i
                if view.provider:
                    out["provider"][view.provider] = out["provider"].get(view.provider, 0) | bit
                if view.region:
                    out["region"][view.region] = out["region"].get(view.region, 0) | bit
                for zone in view.zones:
                    out["zone"][zone] = out["zone"].get(zone, 0) | bit
            self._fields = out
        return self._fields

    def has(self, field_name: str) -> int:
        """Clusters whose ``provider``/``region``/``zone`` (zones) is set."""
        found = self._has.get(field_name)
        if found is None:
            found = 0
            for m in self.fields()[field_name].values():
                found |= m
            self._has[field_name] = found
        return found

    def api(self, api_version: str, kind: str) -> int:
        """Clusters that report ``api_version``/``kind`` in ``status.apiEnablements``."""
        key = (api_version, kind)
        found = self._apis.get(key)
        if found is None:
            found = self.mask(i for i, v in enumerate(self.views) if key in v.apis)
            self._apis[key] = found
        return found

    def untolerated(self, key: object, reason_of: Any) -> dict[str, int]:
        """``{reason: mask}`` of the tainted clusters a set of tolerations does not cover.

        ``reason_of(view)`` gives the rejection reason of one tainted cluster (or ``None``);
        cached per tolerations ``key``.
        """
        found = self._untolerated.get(key)
        if found is None:
            found = {}
            for i in self.tainted:
                reason = reason_of(self.views[i])
                if reason is not None:
                    found[reason] = found.get(reason, 0) | (1 << i)
            self._untolerated[key] = found
        return found

    def regions(self) -> list[str]:
        if self._regions is None:
            self._regions = [v.region for v in self.views]
        return self._regions

    def region_ids(self) -> list[int]:
        """Per cluster, a number for its region (equal regions, equal numbers)."""
        if self._region_ids is None:
            numbers: dict[str, int] = {}
            self._region_ids = [numbers.setdefault(r, len(numbers)) for r in self.regions()]
        return self._region_ids

    # --- capacity -------------------------------------------------------------------------

    def estimates(self, key: object, estimate: Any) -> tuple[list[int], list[int]]:
        """Per cluster: ``estimate(view)``, and its position when the whole fleet is ordered by
        (estimate desc, name asc), a small-integer sort key.

        Cached per requirement ``key``: every decision for workloads of the same shape over
        this fleet reuses them.
        """
        found = self._estimates.get(key)
        if found is None:
            values = [estimate(v) for v in self.views]
            # (estimate desc, name asc) as one integer per cluster: rank is the name order, < size.
            keys = [rank - value * self.size for rank, value in zip(self.rank, values, strict=True)]
            ordered = sorted(range(self.size), key=keys.__getitem__)
            position = [0] * self.size
            for p, i in enumerate(ordered):
                position[i] = p
            found = (values, position)
            self._estimates[key] = found
        return found

    def memo(self, key: object, compute: Any) -> Any:
        """A small per-snapshot memo for derived data (diagnosis fragments)."""
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            found = self._memo[key] = compute()
        return found


_snapshots: list[tuple[list[Mapping[str, Any]], Snapshot]] = []


def snapshot(clusters: Sequence[Mapping[str, Any]] | Snapshot) -> Snapshot:
    """The snapshot of ``clusters``, reused while the same cluster objects come in the same order.

    List equality checks identity first, element by element, so recognising the fleet of the
    previous decision costs microseconds; a list with a changed object compares that object's
    content and misses (unless it is equal, when the snapshot is still right).
    """
    if isinstance(clusters, Snapshot):
        return clusters
    objects = list(clusters)
    for i, (cached, snap) in enumerate(_snapshots):
        if len(cached) == len(objects) and cached == objects:
            if i:
                _snapshots.insert(0, _snapshots.pop(i))
            return snap
    snap = Snapshot([view_of(c) for c in objects])
    _snapshots.insert(0, (objects, snap))
    del _snapshots[_SNAPSHOT_CACHE_SIZE:]
    return snap
