"""Structural defaulting of custom resources, as ``apiextensions-apiserver``'s
``pkg/apiserver/schema/defaulting`` does it on every decode (requests and storage reads).

Owns two steps: dropping ``null`` values of non-nullable fields that have no default
(``PruneNonNullableNullsWithoutDefaults``) and filling in ``default`` values for missing fields
or non-nullable nulls (``Default``). Defaults are applied top-down, so defaults nested inside a
freshly defaulted object are applied too; nothing inside allOf/anyOf/oneOf/not is considered.
"""

from __future__ import annotations

from typing import Any

from kurator_sim.machinery.jsonvalues import copy_json
from kurator_sim.machinery.structural import Node, compiled


def apply_defaults(obj: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Return a defaulted copy of ``obj`` (the input is not modified)."""
    out: dict[str, Any] = copy_json(obj)
    if schema is not None:
        node = compiled(schema)
        prune_non_nullable_nulls(out, node)
        default_in_place(out, node)
    return out


def prune_non_nullable_nulls(value: Any, node: Node | None) -> None:
    """Delete map entries that are ``null`` where the schema neither allows null nor defaults."""
    if node is None:
        return
    if isinstance(value, dict):
        props = node.properties
        for key in list(value):
            sub = props.get(key)
            if sub is None:
                sub = node.additional
            item = value[key]
            if item is None:
                if sub is not None and not sub.nullable and not sub.has_default:
                    del value[key]
            elif sub is not None:
                prune_non_nullable_nulls(item, sub)
    elif isinstance(value, list):
        items = node.items
        if items is not None:
            for item in value:
                if item is not None:
                    prune_non_nullable_nulls(item, items)


def default_in_place(value: Any, node: Node | None) -> None:
    """Apply schema defaults to ``value`` in place."""
    if node is None or not node.defaults_below:
        return
    if isinstance(value, dict):
        for key, prop in node.properties.items():
            if not prop.has_default:
                continue
            if key not in value or (value[key] is None and not prop.nullable):
                value[key] = copy_json(prop.default)
        addl = node.additional
        for key, item in list(value.items()):
            prop_node = node.properties.get(key)
            if prop_node is not None:
                default_in_place(item, prop_node)
            elif addl is not None:
                if item is None and not addl.nullable and addl.has_default:
                    item = value[key] = copy_json(addl.default)
                default_in_place(item, addl)
    elif isinstance(value, list):
        items = node.items
        if items is None:
            return
        for i, item in enumerate(value):
            if item is None and not items.nullable and items.has_default:
                item = value[i] = copy_json(items.default)
            default_in_place(item, items)
