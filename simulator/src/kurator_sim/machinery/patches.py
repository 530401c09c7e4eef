"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as the apiserver applies them.

Owns ``PatchError`` (the typed failure every patch mechanism in this package raises, carrying
the HTTP code, ``Status.reason`` and ``Status.message`` the apiserver would answer with) and the
media-type rejection for strategic merge patches on custom resources.

The apiserver applies both patch kinds with ``gopkg.in/evanphx/json-patch.v4``; where that
library departs from the RFCs in ways a client can observe, we follow the library (see
PATCH_NOTES.md): ``replace`` of a missing object member adds it, negative array indices
count from the end, and ``copy`` from a missing member copies ``null``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "INVALID_PATCH_MESSAGE",
    "MAX_JSON_PATCH_OPERATIONS",
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "json_equal",
    "json_merge_patch",
    "unsupported_media_type",
]

# apiserver handlers/patch.go wraps every JSON-patch application failure in
# NewGenericServerResponse(422, ...), whose message drops the library's text for this one.
INVALID_PATCH_MESSAGE: Final = "the server rejected our request due to an error in our request"
MAX_JSON_PATCH_OPERATIONS: Final = 10000

_CODES: Final[Mapping[str, int]] = {
    "BadRequest": 400,
    "Conflict": 409,
    "RequestEntityTooLarge": 413,
    "UnsupportedMediaType": 415,
    "Invalid": 422,
    "InternalError": 500,
    "": 500,  # metav1.StatusReasonUnknown: errors the apiserver did not classify
}


class PatchError(Exception):
    """A patch the apiserver would refuse. ``reason``/``message``/``code`` go on the wire as a
    ``Status``; ``detail`` keeps the underlying library text (the apiserver logs it, and for
    JSON-patch failures it does not reach the client)."""

    def __init__(self, reason: str, message: str, *, code: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.code = code if code is not None else _CODES.get(reason, 500)
        self.detail = detail if detail is not None else message

    def __repr__(self) -> str:
        return f"PatchError({self.reason!r}, {self.message!r}, code={self.code})"


def unsupported_media_type(accepted: Sequence[str]) -> PatchError:
    """The 415 negotiation error (apiserver ``negotiation.NewUnsupportedMediaTypeError``);
    e.g. a strategic merge patch sent to a custom resource."""
    return PatchError(
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted),
    )


# --------------------------------------------------------------------------- equality


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality: numbers compare numerically, but ``true`` is never ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


# --------------------------------------------------------------------------- merge patch


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, exactly: objects merge recursively, ``null`` deletes, anything else
    (lists included) replaces. Inputs are not modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def _prune_nulls(value: Any) -> Any:
    # evanphx pruneNulls: a newly set subtree loses its null members, inside lists too.
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


def apply_merge_patch(obj: Mapping[str, Any], patch: Any) -> dict[str, Any]:
    """``application/merge-patch+json`` against a stored object, as the apiserver does it."""
    if patch is None:
        # jsonpatch.ErrBadJSONPatch, mapped to NewBadRequest in handlers/patch.go.
        raise PatchError("BadRequest", "Invalid JSON Patch")
    if not isinstance(patch, dict):
        # The library returns the patch itself; decoding it into the object then fails.
        kind = "array" if isinstance(patch, list) else type(patch).__name__
        raise PatchError(
            "Invalid",
            f'"" is invalid: patch: Invalid value: {patch!r}: '
            f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}",
        )
    result = copy.deepcopy(dict(obj))
    _merge_docs(result, patch)
    return result


def _merge_docs(doc: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
            continue
        current = doc.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge_docs(current, value)
        elif isinstance(value, list) and isinstance(current, dict):
            doc[key] = copy.deepcopy(value)  # the library skips pruning on this one path
        else:
            doc[key] = _prune_nulls(copy.deepcopy(value))


# --------------------------------------------------------------------------- JSON patch


class _OpFailedError(Exception):
    """An operation that does not apply; becomes a 422 with the generic message."""


_MISSING: Final = object()


def _decode_pointer_token(token: str) -> str:
    # RFC 6901 section 4: "~1" first, then "~0", so "~01" means "~1".
    return token.replace("~1", "/").replace("~0", "~")


def _array_index(container: list[Any], token: str, *, for_insert: bool) -> int:
    try:
        idx = int(token, 10)
    except ValueError as e:
        raise _OpFailedError(f'strconv.Atoi: parsing "{token}": invalid syntax') from e
    size = len(container) + (1 if for_insert else 0)
    if idx >= size or idx < -size:
        raise _OpFailedError(f"Unable to access invalid index: {idx}: invalid index referenced")
    return idx + size if idx < 0 else idx


def _find_container(doc: Any, path: str) -> tuple[Any, str] | None:
    """The parent container of ``path`` and the final (decoded) token, or None when any
    ancestor is missing or is a scalar (the library's ``findObject``)."""
    if not path.startswith("/"):
        return None
    parts = path.split("/")[1:]
    node = doc
    for raw in parts[:-1]:
        token = _decode_pointer_token(raw)
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list):
            try:
                node = node[_array_index(node, token, for_insert=False)]
            except _OpFailedError:
                return None
        else:
            return None
        if not isinstance(node, dict | list):
            return None
    return node, _decode_pointer_token(parts[-1])


def _get(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        return container.get(key, _MISSING)
    return container[_array_index(container, key, for_insert=False)]


def _add(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif key == "-":
        container.append(value)
    else:
        container.insert(_array_index(container, key, for_insert=True), value)


def _remove(container: Any, key: str) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise _OpFailedError(f"Unable to remove nonexistent key: {key}: missing value")
        del container[key]
    else:
        del container[_array_index(container, key, for_insert=False)]


def _string_member(op: Mapping[str, Any], name: str, kind: str) -> str:
    value = op.get(name)
    if not isinstance(value, str):
        raise _OpFailedError(f"{kind} operation failed to decode {name}")
    return value


def _locate(doc: Any, path: str, what: str, *, quoted: bool = False) -> tuple[Any, str]:
    found = _find_container(doc, path)
    if found is None:
        # json-patch v4 quotes the path in add/remove messages only.
        shown = f'"{path}"' if quoted else path
        raise _OpFailedError(f"{what}: {shown}: missing value")
    return found


def _apply_op(doc: Any, op: Mapping[str, Any]) -> None:
    kind = op.get("op")
    kind = kind if isinstance(kind, str) else "unknown"
    if kind == "add":
        path = _string_member(op, "path", kind)
        container, key = _locate(doc, path, "add operation does not apply: doc is missing path", quoted=True)
        _add(container, key, copy.deepcopy(op.get("value")))
    elif kind == "remove":
        path = _string_member(op, "path", kind)
        container, key = _locate(doc, path, "remove operation does not apply: doc is missing path", quoted=True)
        _remove(container, key)
    elif kind == "replace":
        path = _string_member(op, "path", kind)
        container, key = _locate(doc, path, "replace operation does not apply: doc is missing path")
        if isinstance(container, list):
            container[_array_index(container, key, for_insert=False)] = copy.deepcopy(op.get("value"))
        else:
            # json-patch v4 never checks that an object member exists before replacing it.
            container[key] = copy.deepcopy(op.get("value"))
    elif kind == "move":
        source = _string_member(op, "from", kind)
        container, key = _locate(doc, source, "move operation does not apply: doc is missing from path")
        value = _get(container, key)
        _remove(container, key)
        path = _string_member(op, "path", kind)
        target, tkey = _locate(doc, path, "move operation does not apply: doc is missing destination path")
        _add(target, tkey, None if value is _MISSING else value)
    elif kind == "copy":
        source = _string_member(op, "from", kind)
        container, key = _locate(doc, source, "copy operation does not apply: doc is missing from path")
        value = _get(container, key)
        path = _string_member(op, "path", kind)
        target, tkey = _locate(doc, path, "copy operation does not apply: doc is missing destination path")
        _add(target, tkey, None if value is _MISSING else copy.deepcopy(value))
    elif kind == "test":
        path = _string_member(op, "path", kind)
        container, key = _locate(doc, path, "test operation does not apply: is missing path")
        actual = _get(container, key)
        expected = op.get("value")
        # A missing member and an explicit null are the same thing to the library.
        if (actual is _MISSING or actual is None) and expected is None:
            return
        if actual is _MISSING or not json_equal(actual, expected):
            raise _OpFailedError(f"testing value {path} failed: test failed")
    else:
        raise _OpFailedError(f"Unexpected kind: {kind}")


def apply_json_patch(doc: Any, operations: Any) -> Any:
    """``application/json-patch+json``: apply ``operations`` in order to a copy of ``doc``.

    A body that is not a list of operation objects is a 400 (the library cannot decode it);
    more than 10000 operations is a 413; an operation that does not apply (including a failed
    ``test``) is a 422 ``Invalid`` whose wire message is the apiserver's generic one, with the
    library's text kept in ``PatchError.detail``.
    """
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        got = "object" if isinstance(operations, dict) else type(operations).__name__
        raise PatchError("BadRequest", f"json: cannot unmarshal {got} into Go value of type jsonpatch.Patch")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}",
        )
    result = copy.deepcopy(doc)
    for op in operations:
        try:
            _apply_op(result, op)
        except (_OpFailedError, IndexError) as e:
            raise PatchError("Invalid", INVALID_PATCH_MESSAGE, detail=str(e)) from None
    return result
