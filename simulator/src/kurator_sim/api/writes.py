"""Create (POST), replace (PUT), delete (DELETE) and delete-collection, as the generic registry
of the apiserver handles them.

Each write goes through the same steps: decode, check the body's kind against the URL,
validate (schema, pruning, defaulting, ``fieldValidation``), record ``managedFields``, then hand
the whole object to the store, which owns resource versions, generations and concurrency.
``dryRun=All`` runs every step except the store's commit.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kurator_sim import errors
from kurator_sim.api import admission, options, responses, scale, ssa
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.options import DeleteOptions, ListOptions, WriteOptions
from kurator_sim.api.paths import ResourcePath
from kurator_sim.resources import ResourceType

Obj = dict[str, Any]

RETURNS_DELETED_OBJECT = frozenset({("", "pods"), ("", "serviceaccounts")})
"""Kinds whose registry sets ``ReturnDeletedObject``; the rest answer a delete with a Status."""


async def create(api: ClusterApi, request: web.Request, target: ResourcePath) -> web.Response:
    if target.subresource is not None:
        raise responses.method_not_allowed()
    opts = WriteOptions.parse(request)
    obj = await options.object_body(request, target.rt)
    rt = target.rt
    admission.check_kind(rt, obj)
    warnings = admission.validate(api, rt, obj, old=None, opts=opts, subresource=None)
    if rt.status_subresource:
        obj.pop("status", None)  # a creator never sets status where a controller owns it
    obj = ssa.track_update(api, rt, None, obj, manager=opts.field_manager, subresource=None)
    # The request's object is ours to hand over, and the answer only serializes what is stored.
    created = api.store.create(rt, target.namespace, obj, dry_run=opts.dry_run, copy_input=False, copy_result=False)
    return responses.json(created, status=201, warnings=warnings)


def commit_update(
    api: ClusterApi,
    target: ResourcePath,
    new: Obj,
    current: Obj,
    opts: WriteOptions,
    *,
    track: bool = True,
) -> tuple[Obj, list[str]]:
    """Validate ``new`` (a replacement of ``current``) and store it; shared by PUT and PATCH.

    ``track=False``: ``new`` already carries its managedFields (server-side apply). ``new`` is
    handed over to the store (it may share values with ``current``, never with the request
    body's caller); the result is the stored object, read only: answers only serialize it.
    """
    assert target.name is not None
    rt = target.rt
    sub = target.subresource
    warnings = admission.validate(api, rt, new, old=current, opts=opts, subresource=sub)
    if sub is None and rt.status_subresource:
        # The main resource's strategy keeps the stored status (before managedFields are
        # computed, so that other managers keep owning it).
        new = dict(new)
        if "status" in current:
            new["status"] = current["status"]
        else:
            new.pop("status", None)
    elif sub == "status":
        # The status strategy keeps everything but status from the stored object.
        merged = dict(current)
        merged["status"] = new.get("status")
        if merged["status"] is None:
            merged.pop("status")
        merged["metadata"] = dict(current.get("metadata") or {})
        meta = new.get("metadata") or {}
        keep = ("resourceVersion",) if track else ("resourceVersion", "managedFields")
        for key in keep:
            if key in meta:
                merged["metadata"][key] = meta[key]
        new = merged
    if track:
        new = ssa.track_update(api, rt, current, new, manager=opts.field_manager, subresource=sub)
    stored = api.store.update(
        rt,
        target.namespace,
        target.name,
        new,
        subresource=sub,
        dry_run=opts.dry_run,
        copy_input=False,
        copy_result=False,
    )
    return stored, warnings


async def replace(api: ClusterApi, request: web.Request, target: ResourcePath) -> web.Response:
    assert target.name is not None
    opts = WriteOptions.parse(request)
    obj = await options.object_body(request, target.rt)
    if target.subresource == "scale":
        return responses.json(scale.replace(api, target, obj, opts))
    rt = target.rt
    admission.check_kind(rt, obj)
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta.get("name") and meta["name"] != target.name:
        raise errors.bad_request(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({target.name})"
        )
    if rt.namespaced and meta.get("namespace") and meta["namespace"] != target.namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    current = api.store.get(rt, target.namespace, target.name)
    stored, warnings = commit_update(api, target, obj, current, opts)
    return responses.json(stored, warnings=warnings)


def deleted_status(rt: ResourceType, obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    details: Obj = {"name": meta.get("name", ""), "group": rt.group, "kind": rt.plural, "uid": meta.get("uid", "")}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


async def delete(api: ClusterApi, request: web.Request, target: ResourcePath) -> web.Response:
    assert target.name is not None
    if target.subresource is not None:
        raise responses.method_not_allowed()
    dopts = DeleteOptions.parse(request, await options.body(request))
    obj, gone = api.store.delete(
        target.rt,
        target.namespace,
        target.name,
        uid=dopts.uid,
        resource_version=dopts.resource_version,
        propagation=dopts.propagation,
        dry_run=dopts.dry_run,
    )
    if not gone or target.rt.key in RETURNS_DELETED_OBJECT:
        # Waiting for finalizers: the apiserver answers with the object, deletionTimestamp set.
        return responses.json(obj)
    return responses.json(deleted_status(target.rt, obj))


async def delete_collection(api: ClusterApi, request: web.Request, target: ResourcePath) -> web.Response:
    if target.subresource is not None:
        raise responses.method_not_allowed()
    lopts = ListOptions.parse(request.query)
    dopts = DeleteOptions.parse(request, await options.body(request))
    rt = target.rt
    listed = api.store.list(
        rt,
        target.namespace,
        label_selector=lopts.label_selector,
        field_selector=lopts.field_selector,
        copy_items=False,
    )
    deleted: list[Obj] = []
    for item in listed.items:
        meta = item["metadata"]
        try:
            obj, _ = api.store.delete(
                rt, meta.get("namespace"), meta["name"], propagation=dopts.propagation, dry_run=dopts.dry_run
            )
        except errors.ApiError as exc:
            if exc.code == 404:
                continue  # deleted meanwhile (garbage collection of an owner listed earlier)
            raise
        deleted.append(obj)
    body = {
        "kind": rt.list_kind,
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(api.store.resource_version)},
        "items": deleted,
    }
    return responses.json(body)
