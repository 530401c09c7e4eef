"""Structural invariants the API server checks on custom resources after OpenAPI validation:
``x-kubernetes-list-type`` set/map uniqueness (``schema/listtype``) and the type meta of
``x-kubernetes-embedded-resource`` objects (``schema/objectmeta`` Validate).

These checks use ``field.Path`` spelling, unlike kube-openapi: ``.name`` for properties,
``[key]`` for map keys and ``[i]`` for list items.
"""

from __future__ import annotations

import re
from typing import Any, Final

from kurator_sim.machinery import fielderrors as fe
from kurator_sim.machinery.fielderrors import Cause
from kurator_sim.machinery.structural import Node

_DNS1035: Final = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_MSG: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


class _Unspecified:
    """A list-map item without its key (or a null item): all such items collide."""


_UNSPECIFIED: Final = _Unspecified()


def check_invariants(node: Node | None, obj: dict[str, Any]) -> list[Cause]:
    """Embedded-resource errors first, then list-type errors, as the CR validator orders them."""
    embedded: list[Cause] = []
    lists: list[Cause] = []
    if node is not None and node.needs_walk:
        _walk_map(node, obj, "", embedded, lists, root=True)
    return embedded + lists


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(node: Node, value: Any, path: str, embedded: list[Cause], lists: list[Cause]) -> None:
    if not node.needs_walk:
        return
    if isinstance(value, dict):
        _walk_map(node, value, path, embedded, lists, root=False)
    elif isinstance(value, list):
        if node.list_type == "set":
            _check_set(value, path, lists)
        elif node.list_type == "map":
            _check_map(node, value, path, lists)
        if node.items is not None:
            for i, item in enumerate(value):
                _walk(node.items, item, f"{path}[{i}]", embedded, lists)


def _walk_map(
    node: Node, value: dict[str, Any], path: str, embedded: list[Cause], lists: list[Cause], *, root: bool
) -> None:
    if node.embedded and not root:
        embedded.extend(_embedded_errors(value, path))
    props = node.properties
    addl = node.additional
    for key, item in value.items():
        sub = props.get(key)
        if sub is not None:
            _walk(sub, item, _child(path, key), embedded, lists)
        elif addl is not None:
            _walk(addl, item, f"{path}[{key}]", embedded, lists)


def _embedded_errors(value: dict[str, Any], path: str) -> list[Cause]:
    errors: list[Cause] = []
    if "apiVersion" not in value:
        errors.append(fe.required(_child(path, "apiVersion")))
    if "kind" not in value:
        errors.append(fe.required(_child(path, "kind")))
    api_version = value.get("apiVersion")
    if "apiVersion" in value:
        field = _child(path, "apiVersion")
        if not isinstance(api_version, str):
            errors.append(fe.invalid(field, api_version, "must be a string"))
        elif not api_version:
            errors.append(fe.invalid(field, api_version, "must not be empty"))
        elif api_version.count("/") > 1:
            errors.append(fe.invalid(field, api_version, f"unexpected GroupVersion string: {api_version}"))
    kind = value.get("kind")
    if "kind" in value:
        field = _child(path, "kind")
        if not isinstance(kind, str):
            errors.append(fe.invalid(field, kind, "must be a string"))
        elif not kind:
            errors.append(fe.invalid(field, kind, "must not be empty"))
        else:
            problems = []
            if len(kind) > 63:
                problems.append("must be no more than 63 characters")
            if _DNS1035.match(kind.lower()) is None:
                problems.append(_DNS1035_MSG)
            if problems:
                errors.append(
                    fe.invalid(field, kind, "may have mixed case, but should otherwise match: " + ",".join(problems))
                )
    return errors


def _scalar_key(value: Any) -> Any:
    # Go compares interface{} map keys by dynamic type: int64(1) != float64(1), true != 1
    return (type(value).__name__, value)


def _non_unique(values: list[Any]) -> list[int]:
    """validateListSet: indices of the first repeat of each value (later repeats not reported)."""
    seen: dict[Any, int] = {}
    result: list[int] = []
    for i, value in enumerate(values):
        key = ("json", fe.go_json(value)) if isinstance(value, dict | list) else _scalar_key(value)
        times = seen.get(key, 0)
        seen[key] = times + 1
        if times == 1:
            result.append(i)
    return result


def _check_set(value: list[Any], path: str, out: list[Cause]) -> None:
    if len(value) <= 1:
        return
    for i in _non_unique(value):
        out.append(fe.duplicate(f"{path}[{i}]", value[i]))


def _check_map(node: Node, value: list[Any], path: str, out: list[Cause]) -> None:
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            out.append(fe.invalid(f"{path}[{i}]", item, "must be an object for an array of list-type map"))
            return
    if len(value) <= 1:
        return
    keys = node.list_map_keys
    if len(keys) == 1:
        key_field = keys[0]
        single: list[Any] = []
        for item in value:
            if item is None or key_field not in item:
                single.append(_UNSPECIFIED)
            else:
                single.append(item[key_field])
        seen: dict[Any, int] = {}
        for i, key in enumerate(single):
            marker = ("unspecified",) if key is _UNSPECIFIED else _key_marker(key)
            times = seen.get(marker, 0)
            seen[marker] = times + 1
            if times == 1:
                out.append(fe.duplicate(f"{path}[{i}]", {} if key is _UNSPECIFIED else {key_field: key}))
        return
    composite: list[Any] = []
    for item in value:
        entry: dict[str, Any] = {}
        if item is not None:
            for key_field in keys:
                if key_field in item:
                    entry[key_field] = item[key_field]
        composite.append(entry)
    for i in _non_unique(composite):
        out.append(fe.duplicate(f"{path}[{i}]", composite[i]))


def _key_marker(value: Any) -> Any:
    return ("json", fe.go_json(value)) if isinstance(value, dict | list) else _scalar_key(value)
