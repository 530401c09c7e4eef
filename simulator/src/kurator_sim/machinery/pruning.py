"""Structural pruning of custom resources (``apiextensions-apiserver`` ``schema/pruning``)
plus the ObjectMeta coercion and null dropping that go with it (``unstructuredSchemaCoercer.apply``).

Owns dropping every field the schema does not specify, unless a node says
``x-kubernetes-preserve-unknown-fields: true``, and reporting each dropped field's path the
way strict decoding prints it: ``.`` between keys (map keys too) and ``[i]`` for list indices.
``apiVersion``, ``kind`` and ``metadata`` are implicit at the root and in embedded resources;
their ``metadata`` is reduced to standard ObjectMeta instead of being pruned by the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from kurator_sim.machinery.jsonvalues import copy_json
from kurator_sim.machinery.objectmeta import coerce_object_meta
from kurator_sim.machinery.structural import Node, compiled

META_FIELDS: Final = frozenset({"apiVersion", "kind", "metadata"})


@dataclass
class PruneReport:
    """Unknown field paths found while pruning, and ObjectMeta decode errors (path, text)."""

    unknown_fields: list[str] = field(default_factory=list)
    meta_errors: list[tuple[str, str]] = field(default_factory=list)


def prune(obj: dict[str, Any], schema: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Return ``(pruned copy of obj, unknown field paths)``; ``obj`` is not modified.

    Like the server's coercer this also drops non-nullable ``null`` values that have no
    default. This is the storage/read behaviour: malformed metadata fields are dropped silently.
    """
    out: dict[str, Any] = copy_json(obj)
    report = prune_in_place(out, compiled(schema) if schema is not None else None, drop_malformed_meta=True)
    return out, report.unknown_fields


def prune_in_place(obj: dict[str, Any], root: Node | None, *, drop_malformed_meta: bool) -> PruneReport:
    """Prune a resource in place. The order of reported paths follows the API server:
    root metadata first, then schema pruning, then metadata of embedded resources."""
    report = PruneReport()
    _coerce_meta(obj, "metadata", report, drop_malformed_meta)
    if root is None:
        # no schema at all (x-kubernetes-preserve-unknown-fields at the root of a legacy CRD)
        return report
    if root.preserve_unknown:
        _skip_prune(obj, root, "", report.unknown_fields, embedded=True)
    else:
        _prune_map(obj, root, "", report.unknown_fields, embedded=True)
    _coerce_embedded(obj, root, "", report, drop_malformed_meta)
    return report


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(value: Any, node: Node | None, path: str, out: list[str]) -> None:
    if node is not None and node.preserve_unknown:
        _skip_prune(value, node, path, out, embedded=node.embedded)
        return
    if isinstance(value, dict):
        if node is None:
            for key in list(value):
                out.append(_join(path, key))
                del value[key]
            return
        _prune_map(value, node, path, out, embedded=node.embedded)
    elif isinstance(value, list):
        items = node.items if node is not None else None
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                _prune(item, items, f"{path}[{i}]", out)


def _prune_map(value: dict[str, Any], node: Node, path: str, out: list[str], *, embedded: bool) -> None:
    props = node.properties
    addl = node.additional
    for key in list(value):
        if embedded and key in META_FIELDS:
            continue
        child = _join(path, key)
        sub = props.get(key)
        if sub is None:
            sub = addl
        if sub is not None:
            item = value[key]
            if isinstance(item, dict | list):
                _prune(item, sub, child, out)
            elif item is None and not sub.nullable and not sub.has_default:
                # PruneNonNullableNullsWithoutDefaults, folded into the same walk
                del value[key]
        elif node.additional_any:
            _prune(value[key], None, child, out)
        else:
            # the Go pruner stays silent only for apiVersion/kind/metadata at the root
            if key not in META_FIELDS or path:
                out.append(child)
            del value[key]


def _skip_prune(value: Any, node: Node, path: str, out: list[str], *, embedded: bool) -> None:
    if isinstance(value, dict):
        if None in value.values():
            _drop_nulls(value, node)
        props = node.properties
        addl = node.additional
        for key, item in value.items():
            if embedded and key in META_FIELDS:
                continue
            if not isinstance(item, dict | list):
                continue
            sub = props.get(key)
            if sub is None:
                sub = addl
            if sub is not None or node.additional_any:
                _prune(item, sub, _join(path, key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                _prune(item, node.items, f"{path}[{i}]", out)


def _drop_nulls(value: dict[str, Any], node: Node) -> None:
    """Non-nullable nulls without default below a preserve-unknown-fields node."""
    props = node.properties
    addl = node.additional
    for key in [k for k, v in value.items() if v is None]:
        sub = props.get(key)
        if sub is None:
            sub = addl
        if sub is not None and not sub.nullable and not sub.has_default:
            del value[key]


def _coerce_meta(obj: dict[str, Any], meta_path: str, report: PruneReport, drop_malformed: bool) -> None:
    if "metadata" not in obj:
        return
    result = coerce_object_meta(obj["metadata"], meta_path)
    report.unknown_fields.extend(result.unknown_fields)
    if result.error:
        report.meta_errors.append((result.error_field, result.error))
        if not drop_malformed:
            return
    if result.metadata is None:
        if obj["metadata"] is None or drop_malformed:
            del obj["metadata"]
        return
    obj["metadata"] = result.metadata


def _coerce_embedded(value: Any, node: Node | None, path: str, report: PruneReport, drop: bool) -> None:
    """Walk with field.Path semantics (map keys as ``[key]``) and coerce embedded metadata."""
    if node is None or not node.needs_walk:
        return
    if isinstance(value, dict):
        if node.embedded and path:
            _coerce_meta(value, _join(path, "metadata"), report, drop)
        props = node.properties
        addl = node.additional
        if not props and addl is None:
            return
        for key, item in value.items():
            if node.embedded and key in META_FIELDS:
                continue
            if not isinstance(item, dict | list):
                continue
            sub = props.get(key)
            if sub is not None:
                _coerce_embedded(item, sub, _join(path, key), report, drop)
            elif addl is not None:
                _coerce_embedded(item, addl, f"{path}[{key}]", report, drop)
    elif isinstance(value, list) and node.items is not None:
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                _coerce_embedded(item, node.items, f"{path}[{i}]", report, drop)
