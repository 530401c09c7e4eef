"""PATCH: JSON patch, JSON merge patch, strategic merge patch (built-in kinds only, 415 for
custom resources as the apiserver answers) and server-side apply.

Non-apply patches read the stored object, patch it and write it back through the same
update path as PUT (validation, managedFields, the store's concurrency check). Apply patches
go through server-side apply, which may create the object (201) and may refuse with a 409
conflict naming the fields another manager owns.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kurator_sim import errors
from kurator_sim.api import admission, options, responses, scale, ssa, writes
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.options import WriteOptions
from kurator_sim.api.paths import ResourcePath
from kurator_sim.machinery import builtin_types, patches, strategic

Obj = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def _patch_error(exc: patches.PatchError) -> errors.ApiError:
    return errors.ApiError(exc.code, exc.reason, exc.message)


def _options_invalid(field: str, reason: str, message: str) -> errors.ApiError:
    cause = errors.StatusCause(reason, message, field)
    return errors.ApiError(
        422,
        "Invalid",
        f'PatchOptions.meta.k8s.io "" is invalid: {field}: {message}',
        "meta.k8s.io",
        "PatchOptions",
        "",
        [cause],
    )


def apply_patch(target: ResourcePath, patch_type: str, base: Obj, patch: Any) -> Obj:
    """``base`` patched with a non-apply ``patch``."""
    rt = target.rt
    try:
        if patch_type == JSON_PATCH:
            result = patches.apply_json_patch(base, patch)
        elif patch_type == MERGE_PATCH:
            result = patches.apply_merge_patch(base, patch)
        else:
            meta = builtin_types.patch_meta_for(rt.group, rt.version, rt.kind) if rt.builtin else None
            if meta is None:
                raise strategic.smp_unsupported()
            result = strategic.strategic_merge(base, patch, kind_schema=meta)
    except patches.PatchError as exc:
        raise _patch_error(exc) from exc
    if not isinstance(result, dict):
        raise errors.bad_request("the patched object is not a JSON object")
    return result


async def patch(api: ClusterApi, request: web.Request, target: ResourcePath) -> web.Response:
    assert target.name is not None
    patch_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    rt = target.rt
    accepted = strategic.BUILTIN_PATCH_TYPES if rt.builtin else strategic.CUSTOM_RESOURCE_PATCH_TYPES
    if patch_type not in accepted:
        raise _patch_error(patches.unsupported_media_type(accepted))
    opts = WriteOptions.parse(request)
    if patch_type != APPLY_PATCH and "force" in request.query:
        raise _options_invalid("force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch")
    data = options.decode(await request.read(), patch_type)
    if patch_type == APPLY_PATCH:
        return await _apply(api, target, data, opts)
    current = api.store.get(rt, target.namespace, target.name)
    if target.subresource == "scale":
        patched_scale = apply_patch(
            target, MERGE_PATCH if patch_type == STRATEGIC_PATCH else patch_type, scale.from_object(current), data
        )
        return responses.json(scale.replace(api, target, patched_scale, opts))
    patched = apply_patch(target, patch_type, current, data)
    admission.check_kind(rt, patched)
    meta = patched.get("metadata")
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta.get("name") != target.name:
        raise errors.bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({target.name})"
        )
    stored, warnings = writes.commit_update(api, target, patched, current, opts)
    return responses.json(stored, warnings=warnings)


async def _apply(api: ClusterApi, target: ResourcePath, data: Any, opts: WriteOptions) -> web.Response:
    assert target.name is not None
    rt = target.rt
    if not opts.field_manager_given:
        raise _options_invalid("fieldManager", "FieldValueRequired", "Required value: is required for apply patch")
    if not isinstance(data, dict):
        raise errors.bad_request("error decoding YAML: the apply patch must be an object")
    # Read only (server-side apply copies what it keeps), so the stored object itself.
    current = api.store.view(rt, target.namespace, target.name)
    if target.subresource == "scale":
        if current is None:
            raise errors.not_found(rt.plural, rt.group, target.name)
        return responses.json(scale.replace(api, target, data, opts))
    meta = data.get("metadata")
    if isinstance(meta, dict) and meta.get("name") not in (None, target.name):
        raise errors.bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({target.name})"
        )
    if current is None:
        if target.subresource is not None:
            raise errors.not_found(rt.plural, rt.group, target.name)
        new = ssa.apply(api, rt, None, data, manager=opts.field_manager, force=opts.force, subresource=None)
        new.setdefault("metadata", {})["name"] = target.name
        warnings = admission.validate(api, rt, new, old=None, opts=opts, subresource=None)
        created = api.store.create(rt, target.namespace, new, dry_run=opts.dry_run, copy_input=False, copy_result=False)
        return responses.json(created, status=201, warnings=warnings)
    new = ssa.apply(
        api, rt, current, data, manager=opts.field_manager, force=opts.force, subresource=target.subresource
    )
    stored, warnings = writes.commit_update(api, target, new, current, opts, track=False)
    return responses.json(stored, warnings=warnings)
