"""Server-side apply and managedFields tracking for ordinary writes.

Owns ``apply`` (``application/apply-patch+yaml``: merge the configuration into the live object,
take ownership of what it sets, prune what this manager applied before and dropped, refuse
fields another manager owns with a different value unless forced), ``track_update`` (the
``Update`` entries every create/update/patch records) and ``ApplyConflict``/``ApplyError``.

It follows the apiserver's field manager chain (k8s.io/apimachinery
``util/managedfields/internal``) around structured-merge-diff's ``merge.Updater``: the
``before-first-apply`` manager for objects that never had managedFields, stripping of
identity/system metadata from sets, timestamps only when the object changed, kubectl's
last-applied annotation kept in sync and its client-side-apply upgrade path. Not modelled:
multiple API versions of one kind, and capping at 10 Update managers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from kurator_sim.machinery.conflicts import ApplyConflict, ApplyError, manager_identifier
from kurator_sim.machinery.fieldpaths import FieldSet, PathElement
from kurator_sim.machinery.fieldwalk import (
    ABSENT,
    Comparison,
    SchemaError,
    compare,
    ensure_named_fields_are_members,
    field_set_and_repeats,
    merge,
    remove_items,
    to_field_set,
)
from kurator_sim.machinery.listkeys import ListKeyResolver
from kurator_sim.machinery.managedfields import (
    ManagedEntry,
    ManagerKey,
    decode_managed_fields,
    encode_entry,
    encode_managed_fields,
)
from kurator_sim.machinery.patches import json_equal
from kurator_sim.machinery.patchmeta import PatchMeta

__all__ = ["LAST_APPLIED_ANNOTATION", "ApplyConflict", "ApplyError", "apply", "track_update"]

LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
_BEFORE_FIRST_APPLY: Final = "before-first-apply"
_CURRENT_OPERATION: Final = ManagerKey("current-operation", "Update")

# stripMetaManager: fields no manager ever owns.
_STRIPPED: Final[FieldSet] = FieldSet.of(
    *(
        tuple(PathElement.field_name(p) for p in path)
        for path in (
            ("apiVersion",),
            ("kind",),
            ("metadata",),
            ("metadata", "name"),
            ("metadata", "namespace"),
            ("metadata", "creationTimestamp"),
            ("metadata", "selfLink"),
            ("metadata", "uid"),
            ("metadata", "clusterName"),
            ("metadata", "generation"),
            ("metadata", "managedFields"),
            ("metadata", "resourceVersion"),
        )
    )
)

_Managers = dict[ManagerKey, ManagedEntry]


# --------------------------------------------------------------------------- helpers


def _copy(value: Any) -> Any:
    """A deep copy of a JSON tree (what ``copy.deepcopy`` gives for one, without its memo)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _without_managed_fields(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = _copy(dict(obj)) if obj is not None else {}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return out


def _with_managed_fields(obj: dict[str, Any], managers: _Managers) -> dict[str, Any]:
    encoded = encode_managed_fields(managers)
    meta = obj.setdefault("metadata", {})
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)
    return obj


def _ignored_set(ignored: Sequence[Sequence[str]]) -> FieldSet:
    key = tuple(tuple(path) for path in ignored)
    found = _IGNORED.get(key)
    if found is None:
        found = _IGNORED[key] = FieldSet.of(*(tuple(PathElement.field_name(p) for p in path) for path in key if path))
    return found


_IGNORED: dict[tuple[tuple[str, ...], ...], FieldSet] = {}
"""Reset-field sets by paths (a handful: each endpoint has its own), shared: sets are never
changed once built, and a shared one lets :func:`_created_fields` know it again."""


def _created_fields(typed: FieldSet, ignored: FieldSet) -> tuple[FieldSet, FieldSet, dict[str, Any]]:
    """For an apply that creates, with configuration fields ``typed``: the fields it applies,
    those its manager ends up owning (identity and system metadata stripped) and their
    ``fieldsV1``.

    ``typed`` comes from the field walk's memo (see ``fieldwalk.field_shape``), so the
    configurations of one client, which repeat in shape, give the same set object, and this
    work (the encoding most of all) is done once per shape. The encoding is shared by the
    objects created with it, which, stored, are read only.
    """
    key = (id(typed), id(ignored))
    hit = _CREATED.get(key)
    if hit is not None and hit[0] is typed and hit[1] is ignored:
        return hit[2], hit[3], hit[4]
    fields = _recursive_difference(typed, ignored)
    owned = fields.difference(_STRIPPED)
    owned_v1 = owned.to_fields_v1()
    if len(_CREATED) >= _CREATED_KEPT:
        _CREATED.clear()
    _CREATED[key] = (typed, ignored, fields, owned, owned_v1)
    return fields, owned, owned_v1


_CREATED: dict[tuple[int, int], tuple[FieldSet, FieldSet, FieldSet, FieldSet, dict[str, Any]]] = {}
""":func:`_created_fields` by the identities of its arguments, which each entry keeps alive."""
_CREATED_KEPT: Final = 1024


def _recursive_difference(fields: FieldSet, ignored: FieldSet) -> FieldSet:
    """SMD ``Set.RecursiveDifference``: drop the ignored paths and everything below them."""
    out = FieldSet()
    out.members = fields.members - ignored.members
    for pe, child in fields.children.items():
        if pe in ignored.members:
            continue
        below = ignored.children.get(pe)
        rest = _recursive_difference(child, below) if below is not None else child
        if not rest.empty():
            out.children[pe] = rest
    return out


def _strip_meta(managers: _Managers, key: ManagerKey) -> None:
    entry = managers.get(key)
    if entry is None:
        return
    entry.fields = entry.fields.difference(_STRIPPED)
    if entry.fields.empty():
        del managers[key]


def _gvk(obj: Mapping[str, Any]) -> str:
    # schema.GroupVersionKind.String(): "apps/v1, Kind=Deployment", "/v1, Kind=ConfigMap".
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={obj.get('kind', '')}"


def _typed_fields(value: Mapping[str, Any], root: PatchMeta, *, what: str) -> FieldSet:
    """The object's field set, or the error ObjectToTyped raises for it (a plain error, so
    the apiserver answers 500)."""
    try:
        return to_field_set(value, root)
    except SchemaError as e:
        raise ApplyError(
            "InternalError", f"failed to create typed {what} object ({_gvk(value)}): {e}", code=500
        ) from None


def _typed_fields_and_repeats(value: Mapping[str, Any], root: PatchMeta) -> tuple[FieldSet, bool]:
    """:func:`_typed_fields` of an apply configuration, and whether a list in it repeats an item."""
    try:
        return field_set_and_repeats(value, root)
    except SchemaError as e:
        raise ApplyError(
            "InternalError", f"failed to create typed patch object ({_gvk(value)}): {e}", code=500
        ) from None


def _update(
    old: Any, new: Any, managers: _Managers, workflow: ManagerKey, root: PatchMeta, *, force: bool
) -> Comparison:
    """SMD ``Updater.update``: take what changed away from other managers (refusing, unless
    forced, to take fields they own), and forget removed fields everywhere."""
    cmp = compare(old, new, root)
    changed = cmp.modified.union(cmp.added)
    conflicts: dict[ManagerKey, FieldSet] = {}
    for key, entry in managers.items():
        if key == workflow:
            continue
        taken = entry.fields.intersection(changed)
        if not taken.empty():
            conflicts[key] = taken
    if conflicts and not force:
        raise ApplyConflict(
            [(key, path) for key in sorted(conflicts, key=manager_identifier) for path in conflicts[key].paths()]
        )
    for key, taken in conflicts.items():
        managers[key].fields = managers[key].fields.difference(taken)
    if not cmp.removed.empty():
        for key, entry in managers.items():
            if key != workflow:
                entry.fields = entry.fields.difference(cmp.removed)
    for key in [k for k, e in managers.items() if e.fields.empty()]:
        del managers[key]
    return cmp


def _prune(merged: Any, managers: _Managers, last: ManagedEntry | None, root: PatchMeta) -> Any:
    """SMD ``Updater.prune``: remove what the applier applied last time, dropped from this
    configuration, and nobody else owns."""
    if last is None or last.fields.empty():
        return merged

    def named(fields: FieldSet) -> FieldSet:
        return ensure_named_fields_are_members(fields, root)

    def value_or_empty(value: Any) -> Any:
        return {} if value is ABSENT else value

    last_named = named(last.fields)
    pruned = value_or_empty(remove_items(merged, last_named, root))
    managed = FieldSet()
    for entry in managers.values():
        managed = managed.union(entry.fields)
    merged_set = named(to_field_set(merged, root))
    pruned_set = named(to_field_set(pruned, root))
    pruned = value_or_empty(remove_items(merged, merged_set.difference(pruned_set.union(named(managed))), root))
    pruned_set = named(to_field_set(pruned, root))
    return value_or_empty(remove_items(merged, merged_set.difference(pruned_set).intersection(last_named), root))


def _last_applied(obj: Mapping[str, Any]) -> str | None:
    annotations = obj.get("metadata", {}).get("annotations")
    if isinstance(annotations, Mapping):
        value = annotations.get(LAST_APPLIED_ANNOTATION)
        return value if isinstance(value, str) and value else None
    return None


def _build_last_applied(applied: Mapping[str, Any]) -> str:
    # lastAppliedUpdater.buildLastApplied: the configuration minus the annotation itself,
    # serialized by the unstructured JSON encoder (sorted keys, trailing newline).
    config = _copy(dict(applied))
    annotations = config.get("metadata", {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED_ANNOTATION, None)
        if not annotations:
            del config["metadata"]["annotations"]
    return json.dumps(config, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


def _allowed_by_last_applied(live: Mapping[str, Any], root: PatchMeta) -> FieldSet | None:
    """lastAppliedManager: fields whose live value still equals kubectl's last-applied
    configuration may be taken over from client-side apply without a conflict."""
    text = _last_applied(live)
    if text is None:
        return None
    try:
        last = json.loads(text)
        if not isinstance(last, dict):
            return None
        return to_field_set(last, root).difference(compare(last, _without_managed_fields(live), root).modified)
    except (ValueError, SchemaError):
        return None


# --------------------------------------------------------------------------- apply


def apply(
    live: Mapping[str, Any] | None,
    applied: Mapping[str, Any],
    *,
    manager: str,
    force: bool,
    list_keys: ListKeyResolver,
    now: str,
    api_version: str | None = None,
    subresource: str = "",
    ignored_fields: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """Server-side apply ``applied`` (already decoded from YAML/JSON) by ``manager``.

    ``live`` is the stored object (None: the apply creates it; the caller then fills in
    name/uid/timestamps, and hands ``applied`` over: the new object is built of its values).
    ``api_version``, if given, is the request's group/version, which the configuration must
    match. ``ignored_fields`` are the kind's reset fields for this endpoint
    (e.g. ``[("status",)]`` on the main resource). Returns the new object with its
    ``metadata.managedFields``; raises ``ApplyConflict`` (409) or ``ApplyError``.
    """
    if not isinstance(applied, Mapping):
        raise ApplyError("BadRequest", "error decoding YAML: object expected", code=400)
    version = str(applied.get("apiVersion", ""))
    if api_version is not None and version != api_version:
        raise ApplyError(
            "BadRequest",
            f"Incorrect version specified in apply patch. Specified patch version: {version}, expected: {api_version}",
            code=400,
        )
    meta = applied.get("metadata")
    if isinstance(meta, Mapping) and meta.get("managedFields") is not None:
        raise ApplyError("BadRequest", "metadata.managedFields must be nil", code=400)
    root = list_keys.root
    key = ManagerKey.of(manager, "Apply", version, subresource)
    try:
        return _apply(live, applied, key=key, force=force, root=root, now=now, ignored=_ignored_set(ignored_fields))
    except ApplyConflict as conflict:
        if manager != "kubectl" or force or live is None:
            raise
        allowed = _allowed_by_last_applied(live, root)
        if allowed is None or any(not allowed.has(path) for _, path in conflict.keys):
            raise
        return _apply(live, applied, key=key, force=True, root=root, now=now, ignored=_ignored_set(ignored_fields))


def _apply(
    live: Mapping[str, Any] | None,
    applied: Mapping[str, Any],
    *,
    key: ManagerKey,
    force: bool,
    root: PatchMeta,
    now: str,
    ignored: FieldSet,
) -> dict[str, Any]:
    if live is None:
        return _create(applied, key=key, root=root, now=now, ignored=ignored)
    try:
        managers = decode_managed_fields(live.get("metadata", {}).get("managedFields"))
    except ValueError as e:
        raise ApplyError("InternalError", f"failed to decode managed fields: {e}", code=500) from None
    current = _without_managed_fields(live)
    if live is not None and not managers:
        # skipNonAppliedManager: the fields of an object that predates managedFields belong to
        # "before-first-apply", so the first applier conflicts on what it did not set.
        first = ManagerKey.of(_BEFORE_FIRST_APPLY, "Update", str(current.get("apiVersion", "")))
        _record_update(managers, {}, current, first, root, now=now, ignored=ignored)

    if current:
        config = _copy(dict(applied))
        fields = _recursive_difference(_typed_fields(config, root, what="patch"), ignored)
        _typed_fields(current, root, what="live")
        merged = merge(current, config, root)
    else:
        config = dict(applied)
        fields = _recursive_difference(_typed_fields(config, root, what="patch"), ignored)
        merged = merge(current, config, root)
    last = managers.get(key)
    version = str(config.get("apiVersion", ""))
    managers[key] = ManagedEntry(fields, version, last.time if last is not None else None)
    merged = _prune(merged, managers, last, root)
    if any(other != key for other in managers):
        _update(current, merged, managers, key, root, force=force)
    elif managers[key].fields.empty():
        # The applier is the only manager: nobody's fields to take or forget, so the
        # comparison _update would make has no use.
        del managers[key]
    changed = not json_equal(current, merged)
    _strip_meta(managers, key)
    if changed and key in managers:
        managers[key].time = now
    result: dict[str, Any] = merged if changed else current
    if key.manager == "kubectl" and _last_applied(result) is not None:
        result["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = _build_last_applied(applied)
    return _with_managed_fields(result, managers)


def _create(
    applied: Mapping[str, Any], *, key: ManagerKey, root: PatchMeta, now: str, ignored: FieldSet
) -> dict[str, Any]:
    """:func:`_apply` when there is no live object: what its general path gives with no
    managers, no live fields and nothing applied before (no pruning, no other manager's fields
    to take), with the configuration's fields worked out once per shape.

    Merging into nothing gives the configuration back but for items a list holds twice, so
    unless it has such items it is the new object as it is (the request's own, handed over by
    the caller), with no copy or rebuild.
    """
    config = dict(applied)
    if isinstance(config.get("metadata"), dict):
        config["metadata"] = dict(config["metadata"])  # managedFields go in here
    typed, repeats = _typed_fields_and_repeats(config, root)
    _, owned, owned_v1 = _created_fields(typed, ignored)
    merged = merge({}, config, root) if repeats else config
    changed = not json_equal({}, merged)
    result: dict[str, Any] = merged if changed else {}
    if key.manager == "kubectl" and _last_applied(result) is not None:
        result["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = _build_last_applied(applied)
    meta = result.setdefault("metadata", {})
    if owned.empty():
        meta.pop("managedFields", None)
    else:
        entry = ManagedEntry(owned, str(config.get("apiVersion", "")), now if changed else None)
        meta["managedFields"] = [encode_entry(key, entry, owned_v1)]
    return result


# --------------------------------------------------------------------------- update


def _is_reset(entries: Any) -> bool:
    # isResetManagedFields: [] or [{}] in a request clears managedFields.
    return isinstance(entries, list) and (not entries or (len(entries) == 1 and entries[0] == {}))


def _record_update(
    managers: _Managers,
    old: Any,
    new: Any,
    key: ManagerKey,
    root: PatchMeta,
    *,
    now: str | None,
    ignored: FieldSet,
) -> None:
    """SMD ``Updater.Update`` through a temporary manager, then merged into ``key`` with a
    fresh timestamp only if this write changed any field (managedFieldsUpdater)."""
    cmp = _update(old, new, managers, _CURRENT_OPERATION, root, force=True)
    fields = cmp.modified.union(cmp.added).difference(cmp.removed)
    fields = _recursive_difference(fields, ignored).difference(_STRIPPED)
    if fields.empty():
        return
    previous = managers.get(key)
    if previous is not None:
        fields = fields.union(previous.fields)
    managers[key] = ManagedEntry(fields, key.api_version, now)


def track_update(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    manager: str,
    operation: str = "Update",
    now: str,
    list_keys: ListKeyResolver | None = None,
    subresource: str = "",
    ignored_fields: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """Record an ordinary write (create: ``old`` None; update; any non-apply patch) by
    ``manager`` in ``new``'s managedFields and return the object to store.

    As the apiserver does: managedFields sent in ``new`` replace the stored ones when they are
    valid and non-empty (``[]`` or ``[{}]`` clears them), otherwise the stored ones are kept;
    an existing object without managedFields is not tracked; the manager's entry gets the
    fields this write added or changed, which other managers lose.
    """
    root = (list_keys or ListKeyResolver.for_builtin("", "", "")).root
    sent = (new.get("metadata") or {}).get("managedFields")
    stored = (old or {}).get("metadata", {}).get("managedFields")
    result = _without_managed_fields(new)
    try:
        if _is_reset(sent):
            managers: _Managers = {}
        else:
            managers = decode_managed_fields(sent) if sent else {}
            if not managers:
                managers = decode_managed_fields(stored)
    except ValueError:
        try:
            managers = decode_managed_fields(stored)
        except ValueError:
            return result
    if old is not None and not managers:
        return result
    api_version = str(new.get("apiVersion", ""))
    key = ManagerKey.of(manager, operation, api_version, subresource)
    try:
        _record_update(
            managers, _without_managed_fields(old), result, key, root, now=now, ignored=_ignored_set(ignored_fields)
        )
    except SchemaError:
        return result  # UpdateNoErrors: tracking failures never fail the write
    return _with_managed_fields(result, managers)
