"""Per-field type metadata that drives strategic merge patch and server-side apply.

Owns ``PatchMeta`` (one node per field value: struct, free-keyed map, list or scalar, plus the
patch strategy / merge key from the Go struct tags and the list type / list-map keys from the
``+listType`` markers) and the small builders the built-in registry and the CRD converter use.

A struct is *open* by default: a field we did not declare is treated as a declared struct field
of unknown shape (its dicts are structs, its lists atomic). That matches what the typed
apiserver does for every field we did not bother to describe, and keeps the registry small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "ANY",
    "DEDUCED",
    "SCALAR",
    "ListType",
    "NodeKind",
    "PatchMeta",
    "atomic_list",
    "keyed_list",
    "mapping",
    "required",
    "set_list",
    "struct",
]

NodeKind = Literal["struct", "map", "list", "scalar"]
ListType = Literal["atomic", "set", "map"]


@dataclass(frozen=True, slots=True)
class PatchMeta:
    """Type metadata for one field value.

    ``strategy``/``merge_key`` are the strategic-merge-patch tags (``patchStrategy``,
    ``patchMergeKey``); ``list_type``/``list_keys``/``key_defaults`` are the server-side-apply
    view (``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys`` and the keys' defaults).
    The two usually agree but not always (container ports merge by ``containerPort`` in SMP
    but are keyed by ``containerPort`` and ``protocol`` in SSA).
    """

    kind: NodeKind
    fields: Mapping[str, PatchMeta] = field(default_factory=dict)
    elem: PatchMeta | None = None
    atomic: bool = False
    strategy: str = ""
    retain_keys: bool = False
    merge_key: str = ""
    list_type: ListType = "atomic"
    list_keys: tuple[str, ...] = ()
    key_defaults: Mapping[str, Any] = field(default_factory=dict)
    deduced: bool = False
    # A non-pointer, non-omitempty Go field: present (zero) in every typed object, so SSA never
    # sees it being added as a whole (no "." for it in Update managedFields).
    required: bool = False

    def child(self, name: str) -> PatchMeta:
        """The node for field ``name`` of a struct, or for any entry of a map."""
        if self.deduced:
            return self
        if self.kind == "struct":
            return self.fields.get(name, ANY)
        if self.kind == "map":
            return self.elem if self.elem is not None else ANY
        return ANY

    def item(self) -> PatchMeta:
        """The node for the items of a list."""
        if self.deduced:
            return self
        return self.elem if self.elem is not None else ANY

    def declares(self, name: str) -> bool:
        """Whether ``name`` is a named field (SSA: named fields are not set members unless
        they are leaves; map entries always are)."""
        if self.deduced or self.kind == "map":
            return False
        return self.kind == "struct"


SCALAR = PatchMeta(kind="scalar")
# Unknown shape inside a typed object: dicts are open structs, lists atomic, no strategies.
ANY = PatchMeta(kind="struct")
# x-kubernetes-preserve-unknown-fields / schemaless: SMD's deduced type, every dict key is a
# map entry (granular), every list atomic.
DEDUCED = PatchMeta(kind="map", deduced=True)


def required(node: PatchMeta) -> PatchMeta:
    """The same node, marked as a field Go always serializes (non-pointer, no omitempty)."""
    return replace(node, required=True)


def struct(
    fields: Mapping[str, PatchMeta] | None = None, *, atomic: bool = False, retain_keys: bool = False
) -> PatchMeta:
    """A Go struct (named fields). ``retain_keys`` is ``patchStrategy:"retainKeys"``."""
    return PatchMeta(
        kind="struct",
        fields=dict(fields or {}),
        atomic=atomic,
        retain_keys=retain_keys,
        strategy="retainKeys" if retain_keys else "",
    )


def mapping(elem: PatchMeta = SCALAR, *, atomic: bool = False) -> PatchMeta:
    """A ``map[string]X`` (``+mapType=atomic`` when ``atomic``)."""
    return PatchMeta(kind="map", elem=elem, atomic=atomic)


def atomic_list(item: PatchMeta = ANY) -> PatchMeta:
    """No patch strategy, ``+listType=atomic`` (or no list type): replaced whole."""
    return PatchMeta(kind="list", elem=item, list_type="atomic")


def set_list(*, smp_merge: bool = True) -> PatchMeta:
    """A list of scalars, ``+listType=set``; with ``patchStrategy:"merge"`` by default."""
    return PatchMeta(kind="list", elem=SCALAR, strategy="merge" if smp_merge else "", list_type="set")


def keyed_list(
    merge_key: str | None,
    item: PatchMeta = ANY,
    *,
    map_keys: tuple[str, ...] | None = None,
    key_defaults: Mapping[str, Any] | None = None,
    retain_keys: bool = False,
    ssa_atomic: bool = False,
) -> PatchMeta:
    """A list of objects. ``merge_key`` set means ``patchStrategy:"merge"`` with that
    ``patchMergeKey`` (None: replaced by SMP); ``map_keys`` are the SSA ``+listMapKey``s
    (default: the merge key); ``ssa_atomic`` marks ``+listType=atomic`` despite the tags."""
    keys = map_keys if map_keys is not None else ((merge_key,) if merge_key else ())
    return PatchMeta(
        kind="list",
        elem=item,
        strategy="merge" if merge_key else "",
        retain_keys=retain_keys,
        merge_key=merge_key or "",
        list_type="atomic" if ssa_atomic or not keys else "map",
        list_keys=() if ssa_atomic else keys,
        key_defaults=dict(key_defaults or {}),
    )
