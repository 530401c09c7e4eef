"""ObjectMeta coercion: what survives of ``metadata`` when the API server round-trips it
through the typed ``metav1.ObjectMeta`` (``apiextensions-apiserver`` ``schema/objectmeta``).

Custom resource schemas never prune ``metadata``; instead the server decodes it into the Go
struct and writes it back. So unknown metadata fields disappear (and are reported as unknown
field paths under fieldValidation Warn/Strict), empty ``omitempty`` fields disappear, and a
field of the wrong JSON type is a decode error (HTTP 400) on writes or silently dropped on
reads. This module owns that behaviour for the root and for embedded resources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

# Go types of the ObjectMeta fields, used both for type checks and for error messages.
_STRING: Final = "string"
_INT64: Final = "int64"
_TIME: Final = "v1.Time"
_STRMAP: Final = "map[string]string"

_OWNER_REFERENCE: Final[dict[str, str]] = {
    "apiVersion": _STRING,
    "kind": _STRING,
    "name": _STRING,
    "uid": "types.UID",
    "controller": "bool",
    "blockOwnerDeletion": "bool",
}
_MANAGED_FIELDS_ENTRY: Final[dict[str, str]] = {
    "manager": _STRING,
    "operation": "v1.ManagedFieldsOperationType",
    "apiVersion": _STRING,
    "time": _TIME,
    "fieldsType": _STRING,
    "fieldsV1": "v1.FieldsV1",
    "subresource": _STRING,
}
OBJECT_META_FIELDS: Final[dict[str, str]] = {
    "name": _STRING,
    "generateName": _STRING,
    "namespace": _STRING,
    "selfLink": _STRING,
    "uid": "types.UID",
    "resourceVersion": _STRING,
    "generation": _INT64,
    "creationTimestamp": _TIME,
    "deletionTimestamp": _TIME,
    "deletionGracePeriodSeconds": _INT64,
    "labels": _STRMAP,
    "annotations": _STRMAP,
    "ownerReferences": "[]v1.OwnerReference",
    "finalizers": "[]string",
    "managedFields": "[]v1.ManagedFieldsEntry",
}


@dataclass
class MetaResult:
    """Outcome of coercing one ``metadata`` map."""

    metadata: dict[str, Any] | None
    unknown_fields: list[str] = field(default_factory=list)
    # Go json error text for the first malformed field (decoding stops there), or "".
    error: str = ""
    error_field: str = ""


def _json_kind(value: Any) -> str:
    # json.UnmarshalTypeError.Value wording
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_error(value: Any, struct: str, fieldpath: str, go_type: str) -> str:
    return f"json: cannot unmarshal {_json_kind(value)} into Go struct field {struct}.{fieldpath} of type {go_type}"


def _check_scalar(value: Any, go_type: str) -> bool:
    if value is None:
        return True
    if go_type == _INT64:
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if go_type == "bool":
        return isinstance(value, bool)
    if go_type == "v1.FieldsV1":
        return isinstance(value, dict)
    # strings, UIDs, operation types and Time (RFC3339 text) all decode from JSON strings
    return isinstance(value, str)


def _coerce_struct(
    data: dict[str, Any],
    fields: dict[str, str],
    struct: str,
    prefix: str,
    path: str,
    result: MetaResult,
) -> dict[str, Any] | None:
    """Keep known fields of one nested struct (OwnerReference, ManagedFieldsEntry)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        go_type = fields.get(key)
        if go_type is None:
            result.unknown_fields.append(f"{path}.{key}")
            continue
        if not _check_scalar(value, go_type):
            if not result.error:
                result.error = _type_error(value, struct, f"{prefix}.{key}", go_type)
                result.error_field = f"{path}.{key}"
            continue
        if value is not None and value != "" and value is not False:
            out[key] = value
    return out


def _coerce_list(
    value: Any,
    key: str,
    path: str,
    result: MetaResult,
    item: Callable[[Any, str], Any],
) -> list[Any] | None:
    if not isinstance(value, list):
        if not result.error:
            result.error = _type_error(value, "ObjectMeta", key, OBJECT_META_FIELDS[key])
            result.error_field = path
        return None
    return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]


def coerce_object_meta(metadata: Any, path: str = "metadata") -> MetaResult:
    """Round-trip ``metadata`` through ObjectMeta semantics.

    ``path`` is the field path of the metadata map (``metadata`` at the root,
    ``spec.template.metadata`` for an embedded resource); unknown fields are reported below it.
    """
    if metadata is None:
        return MetaResult(metadata=None)
    if not isinstance(metadata, dict):
        return MetaResult(
            metadata=None,
            error=f"json: cannot unmarshal {_json_kind(metadata)} into Go value of type v1.ObjectMeta",
            error_field=path,
        )
    result = MetaResult(metadata=None)
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        go_type = OBJECT_META_FIELDS.get(key)
        child = f"{path}.{key}"
        if go_type is None:
            result.unknown_fields.append(child)
            continue
        kept: Any = None
        if go_type == _STRMAP:
            if value is None:
                continue
            if not isinstance(value, dict):
                result.error = result.error or _type_error(value, "ObjectMeta", key, go_type)
                result.error_field = result.error_field or child
                continue
            bad = [v for v in value.values() if not isinstance(v, str) and v is not None]
            if bad:
                result.error = result.error or _type_error(bad[0], "ObjectMeta", key, _STRING)
                result.error_field = result.error_field or child
                continue
            kept = {k: ("" if v is None else v) for k, v in value.items()}
        elif key == "finalizers":
            if value is None:
                continue
            kept = _coerce_list(value, key, child, result, lambda v, p: v)
            if kept is not None and any(not isinstance(v, str) for v in kept):
                result.error = result.error or _type_error(
                    next(v for v in kept if not isinstance(v, str)), "ObjectMeta", key, _STRING
                )
                result.error_field = result.error_field or child
                continue
        elif key in ("ownerReferences", "managedFields"):
            if value is None:
                continue
            fields = _OWNER_REFERENCE if key == "ownerReferences" else _MANAGED_FIELDS_ENTRY
            struct = "OwnerReference" if key == "ownerReferences" else "ManagedFieldsEntry"

            def item(v: Any, p: str, fields: dict[str, str] = fields, struct: str = struct, key: str = key) -> Any:
                if not isinstance(v, dict):
                    if not result.error:
                        result.error = _type_error(v, "ObjectMeta", key, f"v1.{struct}")
                        result.error_field = p
                    return {}
                return _coerce_struct(v, fields, struct, key, p, result)

            kept = _coerce_list(value, key, child, result, item)
        else:
            if not _check_scalar(value, go_type):
                result.error = result.error or _type_error(value, "ObjectMeta", key, go_type)
                result.error_field = result.error_field or child
                continue
            if isinstance(value, float):
                value = int(value)
            kept = value
        # omitempty: zero values do not survive the round trip, except behind a pointer
        # (deletionGracePeriodSeconds is *int64, so an explicit 0 is kept).
        if kept is None:
            continue
        if key != "deletionGracePeriodSeconds" and (kept in ("", 0) or kept == {} or kept == []):
            continue
        out[key] = kept
    result.metadata = out
    return result
