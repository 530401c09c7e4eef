"""Strategic merge patch, applied server-side the way k8s.io/apimachinery strategicpatch does.

Owns ``strategic_merge``: lists merged by their ``patchMergeKey``, scalar lists merged as sets,
the ``$patch: replace|delete|merge`` directives, ``$retainKeys``,
``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and null deletes. It is a port
of ``StrategicMergeMapPatch`` with ``MergeParallelList`` and ``IgnoreUnmatchedNulls`` on (the
server-side options), including its ordering rules, so the three-way patches kubectl's
client-side ``apply`` computes land exactly as on a real cluster. Errors map to the HTTP codes
``interpretStrategicMergePatchError`` gives them; errors it does not classify are 500s there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from kurator_sim.machinery import listorder
from kurator_sim.machinery.builtin_types import patch_meta_for
from kurator_sim.machinery.listorder import DIRECTIVE
from kurator_sim.machinery.patches import PatchError, unsupported_media_type
from kurator_sim.machinery.patchmeta import PatchMeta

__all__ = [
    "BUILTIN_PATCH_TYPES",
    "CUSTOM_RESOURCE_PATCH_TYPES",
    "patch_meta_for",
    "smp_unsupported",
    "strategic_merge",
]

RETAIN_KEYS: Final = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER: Final = "$setElementOrder"

BUILTIN_PATCH_TYPES: Final = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
# The CRD handler's supportedTypes: no strategic merge patch.
CUSTOM_RESOURCE_PATCH_TYPES: Final = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)


def smp_unsupported() -> PatchError:
    """What a custom resource answers to ``application/strategic-merge-patch+json`` (415)."""
    return unsupported_media_type(CUSTOM_RESOURCE_PATCH_TYPES)


# --------------------------------------------------------------------------- directives


def _is_directive_key(key: str) -> bool:
    return key in (DIRECTIVE, RETAIN_KEYS) or key.startswith(
        (DELETE_FROM_PRIMITIVE_LIST + "/", SET_ELEMENT_ORDER + "/")
    )


_DROP: Final = object()


def _remove_directives(value: Any) -> Any:
    """strategicpatch ``removeDirectives``: a map carrying ``$patch`` is dropped whole. We also
    drop the other directive keys: the typed decode the apiserver does next discards them."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return _DROP
        out: dict[str, Any] = {}
        for k, v in value.items():
            if _is_directive_key(k):
                continue
            kept = _remove_directives(v)
            if kept is not _DROP:
                out[k] = kept
        return out
    if isinstance(value, list):
        return [kept for kept in (_remove_directives(v) for v in value) if kept is not _DROP]
    return value


def _strip_directive_keys(value: Any) -> Any:
    """Where strategicpatch stores patch content verbatim, the typed decode that follows
    silently drops the directive keys (but keeps the maps that carried them)."""
    if isinstance(value, dict):
        return {k: _strip_directive_keys(v) for k, v in value.items() if not _is_directive_key(k)}
    if isinstance(value, list):
        return [_strip_directive_keys(v) for v in value]
    return value


def _discard_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise listorder.bad_request(
            listorder.ERR_PRIMITIVE_LIST if prefix == DELETE_FROM_PRIMITIVE_LIST else listorder.ERR_SET_ELEMENT_ORDER
        )
    return rest


# --------------------------------------------------------------------------- maps


def strategic_merge(original: Mapping[str, Any], patch: Mapping[str, Any], *, kind_schema: PatchMeta) -> dict[str, Any]:
    """Apply ``patch`` (``application/strategic-merge-patch+json``) to ``original``.

    Neither input is modified. Raises ``PatchError`` with the status the apiserver answers.
    """
    if not isinstance(patch, Mapping):
        kind = "array" if isinstance(patch, list) else listorder.go_type(patch)
        raise listorder.bad_request(f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    return _merge_map(copy.deepcopy(dict(original)), copy.deepcopy(dict(patch)), kind_schema)


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any], schema: PatchMeta) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            del patch[DIRECTIVE]
            replaced: dict[str, Any] = _strip_directive_keys(patch)
            return replaced
        if directive == "delete":
            return {}
        raise listorder.unclassified(f"unknown patch type: {listorder.go(directive)} in map: {listorder.go(patch)}")
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_set_element_order(original, patch, schema)
    for raw_key, patch_value in list(patch.items()):
        key, is_delete_list = raw_key, False
        if raw_key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            key, is_delete_list = _extract_key(raw_key, DELETE_FROM_PRIMITIVE_LIST), True
        if patch_value is None:
            original.pop(key, None)
            continue
        if key not in original or listorder.type_class(original[key]) != listorder.type_class(patch_value):
            if not is_delete_list:
                kept = _remove_directives(_discard_nulls(patch_value))
                if kept is _DROP:
                    original.pop(key, None)
                else:
                    original[key] = kept
            continue
        current = original[key]
        if isinstance(current, dict):
            sub = schema.child(key)
            if sub.strategy == "replace":
                original[key] = _strip_directive_keys(patch_value)
            else:
                original[key] = _merge_map(current, patch_value, sub)
        elif isinstance(current, list):
            original[key] = _merge_slice_handler(current, patch_value, schema.child(key), is_delete_list)
        else:
            original[key] = patch_value
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise listorder.bad_request(listorder.ERR_RETAIN_KEYS)
    keep = [k for k in retain if isinstance(k, str)]
    for k, v in patch.items():
        if v is None or k.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if k not in keep:
            raise listorder.bad_request(listorder.ERR_RETAIN_KEYS)
    for k in list(original):
        if k not in keep:
            del original[k]


# --------------------------------------------------------------------------- lists


def _merge_slice_handler(original: list[Any], patch: list[Any], schema: PatchMeta, is_delete_list: bool) -> list[Any]:
    # Delete lists are handled the same way whatever the field's strategy is.
    if schema.strategy == "merge" or is_delete_list:
        return _merge_slice(original, patch, schema.item(), schema.merge_key, is_delete_list, schema)
    stripped: list[Any] = _strip_directive_keys(patch)
    return stripped


def _merge_slice(
    original: list[Any],
    patch: list[Any],
    item_schema: PatchMeta,
    merge_key: str,
    is_delete_list: bool,
    list_schema: PatchMeta,
) -> list[Any]:
    if not original and not patch:
        return original
    kind = listorder.element_kind(original, patch)
    if kind != "dict":
        if is_delete_list:
            return [v for v in original if not any(listorder.same(v, d) for d in patch)]
        merged = listorder.dedup_scalars(original + patch)
    else:
        if not merge_key:
            raise listorder.unclassified(f"cannot merge lists without merge key for {list_schema.kind}")
        original, patch = _merge_special_elements(original, patch, merge_key)
        merged = _merge_plain_elements(original, patch, merge_key, item_schema)
    patch_items, server_only = listorder.partition(merged, patch, merge_key)
    return listorder.normalize_element_order(patch_items, server_only, patch, original, merge_key, kind)


def _merge_special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise listorder.no_merge_key(item, merge_key)
            value = item[merge_key]
            original = [o for o in original if not (merge_key in o and listorder.same(o[merge_key], value))]
        elif directive == "replace":
            replace = True  # keep scanning to prune any other $patch elements
        elif directive == "merge":
            raise listorder.unclassified("merging lists cannot yet be specified in the patch")
        else:
            raise listorder.unclassified(f"unknown patch type: {listorder.go(directive)} in map: {listorder.go(item)}")
    if replace:
        return plain, []
    return original, plain


def _merge_plain_elements(original: list[Any], patch: list[Any], merge_key: str, item_schema: PatchMeta) -> list[Any]:
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise listorder.no_merge_key(item, merge_key)
        idx = listorder.find_by_key(merged, merge_key, item[merge_key])
        if idx >= 0:
            merged[idx] = _merge_map(merged[idx], item, item_schema)
        else:
            merged.append(_strip_directive_keys(item))
    return merged


# --------------------------------------------------------------------------- $setElementOrder


def _validate_set_order(patch_list: Any, order: Any, merge_key: str) -> None:
    if not isinstance(order, list) or not isinstance(patch_list, list):
        raise listorder.bad_request(listorder.ERR_SET_ELEMENT_ORDER)
    if not order or not patch_list:
        return
    non_delete = [i for i in patch_list if not (merge_key and isinstance(i, dict) and i.get(DIRECTIVE) == "delete")]
    pi = oi = 0
    while pi < len(non_delete) and oi < len(order):
        item = non_delete[pi]
        if isinstance(item, dict) and DIRECTIVE in item:
            pi += 1
            continue
        if merge_key:
            if not isinstance(item, dict) or not isinstance(order[oi], dict):
                raise listorder.unclassified("expected a map[string]interface {}")
            if merge_key not in item:
                raise listorder.no_merge_key(item, merge_key)
            if merge_key not in order[oi]:
                raise listorder.no_merge_key(order[oi], merge_key)
            equal = listorder.same(item[merge_key], order[oi][merge_key])
        else:
            equal = listorder.same(item, order[oi])
        if equal:
            pi += 1
        oi += 1
    if pi < len(non_delete) and oi >= len(order):
        shown, wanted = listorder.go(patch_list), listorder.go(order)
        raise listorder.unclassified(
            f"the order in patch list:\n{shown}\n doesn't match {SET_ELEMENT_ORDER} list:\n{wanted}"
        )


def _not_a_list(value: Any) -> PatchError:
    return listorder.unclassified(f"expected a []interface {{}}, but received a {listorder.go_type(value)}")


def _merge_set_element_order(original: dict[str, Any], patch: dict[str, Any], schema: PatchMeta) -> None:
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise _not_a_list(order)
        key = _extract_key(directive_key, SET_ELEMENT_ORDER)
        original_list = original.get(key)
        patch_list = patch.get(key)
        if key in original and not isinstance(original_list, list):
            raise _not_a_list(original_list)
        if key in patch and not isinstance(patch_list, list):
            raise _not_a_list(patch_list)
        field_schema = schema.child(key)
        merge_key = field_schema.merge_key
        _validate_set_order(patch_list if isinstance(patch_list, list) else [], order, merge_key)
        if isinstance(original_list, list) and isinstance(patch_list, list):
            merged = _merge_slice_handler(original_list, patch_list, field_schema, False)
        elif isinstance(original_list, list):
            merged = original_list
        elif isinstance(patch_list, list):
            merged = _remove_directives(patch_list)
        else:
            continue
        items, server_only = listorder.partition(merged, order, merge_key)
        kind = listorder.element_kind(
            original_list if isinstance(original_list, list) else [],
            patch_list if isinstance(patch_list, list) else [],
        )
        original[key] = listorder.normalize_element_order(
            items,
            server_only,
            order,
            original_list if isinstance(original_list, list) else [],
            merge_key,
            kind,
        )
        patch.pop(key, None)
