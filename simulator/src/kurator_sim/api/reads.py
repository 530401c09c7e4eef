"""GET of one object and LIST of a collection, in whichever representation was negotiated.

This is the hot path of the benchmark (thousands of simple GETs a second), so it does the
least it can: one store read, one orjson encode.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kurator_sim import errors
from kurator_sim.api import responses, tables
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.negotiation import MediaType
from kurator_sim.api.options import ListOptions
from kurator_sim.api.paths import ResourcePath


def get(api: ClusterApi, request: web.Request, target: ResourcePath, media: MediaType) -> web.Response:
    assert target.name is not None
    # Only serialized, so the stored object itself rather than a copy.
    obj = api.store.view(target.rt, target.namespace, target.name)
    if obj is None:
        raise errors.not_found(target.rt.plural, target.rt.group, target.name)
    if media.as_:
        include = request.query.get("includeObject", "Metadata") or "Metadata"
        obj = tables.represent(target.rt, obj, media=media, include_object=include, now=api.clock.now())
    # Plain application/json whatever the representation: the apiserver drops the
    # as/g/v parameters there (clients decode by the body's kind).
    return responses.json(obj)


def list_meta(resource_version: int, continue_token: str, remaining: int | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if continue_token:
        meta["continue"] = continue_token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
    return meta


def list_(
    api: ClusterApi, request: web.Request, target: ResourcePath, media: MediaType, opts: ListOptions
) -> web.Response:
    result = api.store.list(
        target.rt,
        target.namespace,
        label_selector=opts.label_selector,
        field_selector=opts.field_selector,
        limit=opts.limit,
        continue_token=opts.continue_token,
        copy_items=False,
    )
    meta = list_meta(result.resource_version, result.continue_token, result.remaining)
    body = tables.represent_list(
        target.rt, result.items, meta, media=media, include_object=opts.include_object, now=api.clock.now()
    )
    return responses.json(body)
