"""Helpers of the strategic merge patch: list element ordering and its error texts.

Owns the ports of strategicpatch's ``normalizeElementOrder``/``mergeSortedSlice`` family (how
a merged list is ordered: patch items in patch or ``$setElementOrder`` order, server-only items
interleaved by their live order), Go-compatible value comparison (``interface{}`` equality,
``%v`` formatting) and the mergepatch error values with the HTTP codes the apiserver gives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kurator_sim.machinery.patches import PatchError

__all__ = [
    "DIRECTIVE",
    "bad_request",
    "dedup_scalars",
    "element_kind",
    "find_by_key",
    "go",
    "go_type",
    "no_merge_key",
    "normalize_element_order",
    "partition",
    "same",
    "unclassified",
]

DIRECTIVE: Final = "$patch"


# mergepatch's sentinel errors, with the codes handlers/patch.go maps them to.
def bad_request(text: str) -> PatchError:
    return PatchError("BadRequest", text)


def unclassified(text: str) -> PatchError:
    # Not one of interpretStrategicMergePatchError's sentinels: the apiserver answers 500.
    return PatchError("", text)


ERR_PRIMITIVE_LIST: Final = "invalid patch format of primitive list"
ERR_RETAIN_KEYS: Final = "invalid patch format of retainKeys"
ERR_SET_ELEMENT_ORDER: Final = "invalid patch format of setElementOrder list"
ERR_LIST_OF_LISTS: Final = "lists of lists are not supported"


def go(value: Any) -> str:
    """Go's ``%v`` for decoded JSON, enough for error messages to read the same."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go(v) for v in value) + "]"
    return str(value)


def go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return {bool: "bool", str: "string", int: "int64", float: "float64"}.get(type(value), "<nil>")


def type_class(value: Any) -> str:
    # reflect.TypeOf on decoded JSON (ints decode as int64, others as float64).
    if isinstance(value, bool):
        return "bool"
    return type(value).__name__


def same(a: Any, b: Any) -> bool:
    """Go ``==`` on two decoded JSON scalars held in interface{} values."""
    return type_class(a) == type_class(b) and a == b


def no_merge_key(item: Mapping[str, Any], key: str) -> PatchError:
    return unclassified(f"map: {go(dict(item))} does not contain declared merge key: {key}")


def element_kind(*lists: list[Any]) -> str:
    """sliceElementType: every element must have the same (non-list) type."""
    kind: str | None = None
    for items in lists:
        for item in items:
            current = type_class(item)
            if kind is None:
                if current == "list":
                    raise PatchError("Invalid", ERR_LIST_OF_LISTS)
                kind = current
            elif kind != current:
                raise unclassified(f"list element types are not identical: {go(list(lists))}")
    if kind is None:
        raise unclassified("no elements in any of the given slices")
    return kind


def find_by_key(items: list[Any], key: str, value: Any) -> int:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise unclassified(f"value for key {i} is not a map")
        if key in item and same(item[key], value):
            return i
    return -1


def dedup_scalars(items: list[Any]) -> list[Any]:
    # deduplicateScalars: a later duplicate is overwritten by the last element (order is
    # normalised afterwards, but keep the same intermediate shape).
    s = list(items)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if same(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def index(items: list[Any], value: Any, merge_key: str, kind: str) -> int:
    def key_of(item: Any) -> Any:
        if kind == "dict":
            return item.get(merge_key) if isinstance(item, dict) else None
        return item

    wanted = key_of(value)
    for i, item in enumerate(items):
        if same(key_of(item), wanted) or (wanted is None and key_of(item) is None):
            return i
    return -1


def partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for item in merged:
        if merge_key:
            if not isinstance(item, dict):
                raise unclassified(f"expected a map[string]interface {{}}, but received a {go_type(item)}")
            if merge_key not in item:
                raise no_merge_key(item, merge_key)
            found = find_by_key(by, merge_key, item[merge_key]) >= 0
        else:
            found = any(same(item, b) for b in by)
        (in_patch if found else server_only).append(item)
    return in_patch, server_only


def normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    to_delete: list[Any] = []
    if kind == "dict":
        for item in (*to_sort, *order):
            if not isinstance(item, dict):
                raise unclassified(f"expected a map[string]interface {{}}, but received a {go_type(item)}")
            if merge_key not in item:
                raise no_merge_key(item, merge_key)
        keep = [i for i in to_sort if i.get(DIRECTIVE) != "delete"]
        to_delete = [i for i in to_sort if i.get(DIRECTIVE) == "delete"]
        to_sort = keep
    positions = [index(order, item, merge_key, kind) for item in to_sort]
    ranked = sorted(range(len(to_sort)), key=lambda i: positions[i] if positions[i] >= 0 else -1)
    return [to_sort[i] for i in ranked] + to_delete


def merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """mergeSortedSlice: interleave server-only items (left) into patch items (right), keeping
    each side's relative order and placing a server-only item before a patch item only when
    the live list had it first."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = index(server_order, left[i], merge_key, kind)
            ri = index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def normalize_element_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    patch_items = normalize_slice_order(patch_items, patch_order, merge_key, kind)
    server_only = normalize_slice_order(server_only, server_order, merge_key, kind)
    return merge_sorted(server_only, patch_items, server_order, merge_key, kind)
