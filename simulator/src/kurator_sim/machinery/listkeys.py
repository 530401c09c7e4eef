"""Where a kind's lists are atomic, sets or keyed maps: the schema view server-side apply needs.

Owns ``ListKeyResolver``: built from the strategic-merge metadata of a built-in kind, or from a
CRD version's ``openAPIV3Schema`` (``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type``, ``additionalProperties``, ``x-kubernetes-preserve-unknown-fields``).
In a CRD, a list without ``x-kubernetes-list-type`` is atomic, as the apiserver treats it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kurator_sim.machinery.builtin_types import patch_meta_for
from kurator_sim.machinery.patchmeta import ANY, DEDUCED, SCALAR, PatchMeta

__all__ = ["ListInfo", "ListKeyResolver", "schema_from_openapi_v3"]


@dataclass(frozen=True, slots=True)
class ListInfo:
    """A list's SSA type: ``atomic``, ``set`` (``v:`` elements) or ``map`` keyed by ``keys``."""

    list_type: str
    keys: tuple[str, ...] = ()


class ListKeyResolver:
    """Resolves field paths (field names; list items are stepped through implicitly) to their
    type metadata. ``root`` is the kind's ``PatchMeta`` tree."""

    __slots__ = ("root",)

    def __init__(self, root: PatchMeta) -> None:
        self.root = root

    @classmethod
    def for_builtin(cls, group: str, version: str, kind: str) -> ListKeyResolver:
        """Built-in kinds from the registry; unknown kinds get an all-atomic open schema."""
        return cls(patch_meta_for(group, version, kind) or ANY)

    @classmethod
    def from_crd_schema(cls, open_api_v3_schema: Mapping[str, Any] | None) -> ListKeyResolver:
        """From ``spec.versions[].schema.openAPIV3Schema`` of a CRD (None: schemaless)."""
        if not open_api_v3_schema:
            return cls(DEDUCED)
        return cls(schema_from_openapi_v3(open_api_v3_schema))

    def node(self, path: Sequence[str]) -> PatchMeta:
        node = self.root
        for name in path:
            node = node.item() if node.kind == "list" else node
            node = node.child(name)
        return node

    def list_type(self, path: Sequence[str]) -> ListInfo:
        """The SSA list type of the list at ``path`` (e.g. ``("spec", "template", "spec",
        "containers", "ports")``); non-lists report ``atomic``."""
        node = self.node(path)
        if node.kind != "list":
            return ListInfo("atomic")
        return ListInfo(node.list_type, node.list_keys)


def schema_from_openapi_v3(schema: Mapping[str, Any]) -> PatchMeta:
    """Convert a structural OpenAPI v3 schema into ``PatchMeta`` (kube-openapi ``schemaconv``
    rules, restricted to what a CRD schema can say)."""
    atomic = schema.get("x-kubernetes-map-type") == "atomic"
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    kind = schema.get("type")
    properties = schema.get("properties")
    if schema.get("x-kubernetes-int-or-string"):
        return SCALAR
    if kind == "array" or "items" in schema:
        return _list_from_openapi(schema)
    if isinstance(properties, Mapping) and properties:
        fields = {name: schema_from_openapi_v3(sub) for name, sub in properties.items() if isinstance(sub, Mapping)}
        if schema.get("x-kubernetes-embedded-resource"):
            fields.setdefault("metadata", ANY)
        return PatchMeta(kind="struct", fields=fields, atomic=atomic)
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping):
        return PatchMeta(kind="map", elem=schema_from_openapi_v3(additional), atomic=atomic)
    if kind == "object" or preserve or additional is True:
        if atomic:
            return PatchMeta(kind="map", elem=DEDUCED, atomic=True)
        return DEDUCED if preserve or additional is True else PatchMeta(kind="map", elem=DEDUCED)
    if kind in ("string", "integer", "number", "boolean"):
        return SCALAR
    return DEDUCED


def _list_from_openapi(schema: Mapping[str, Any]) -> PatchMeta:
    items = schema.get("items")
    item = schema_from_openapi_v3(items) if isinstance(items, Mapping) else DEDUCED
    list_type = schema.get("x-kubernetes-list-type", "atomic")
    keys: tuple[str, ...] = ()
    defaults: dict[str, Any] = {}
    if list_type == "map":
        keys = tuple(str(k) for k in schema.get("x-kubernetes-list-map-keys") or ())
        props = items.get("properties") if isinstance(items, Mapping) else None
        if isinstance(props, Mapping):
            for k in keys:
                prop = props.get(k)
                if isinstance(prop, Mapping) and "default" in prop:
                    defaults[k] = prop["default"]
    elif list_type not in ("set", "atomic"):
        list_type = "atomic"
    merge_key = str(schema.get("x-kubernetes-patch-merge-key", ""))
    strategy = str(schema.get("x-kubernetes-patch-strategy", ""))
    return PatchMeta(
        kind="list",
        elem=item,
        strategy="merge" if "merge" in strategy.split(",") else "",
        merge_key=merge_key,
        list_type="map" if list_type == "map" and keys else ("set" if list_type == "set" else "atomic"),
        list_keys=keys,
        key_defaults=defaults,
    )
