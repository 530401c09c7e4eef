"""Routing one request within one cluster's API: discovery, ``/version``, OpenAPI, and the
verbs on resources (the apiserver's request-info resolution, by method and path shape).

Shared by the host and by every member behind the Karmada cluster proxy, which strips its
prefix and calls :func:`handle` with the member's :class:`ClusterApi`.
"""

from __future__ import annotations

import random
from typing import Protocol

from aiohttp import web

from kurator_sim import errors
from kurator_sim.api import negotiation, openapi_routes, paths, reads, responses, scale, watching, writes
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.options import NO_LIST_OPTIONS, ListOptions
from kurator_sim.api.patching import patch


class Services(Protocol):
    """What the server provides to every cluster's handlers."""

    reaper: watching.WatchReaper
    rng: random.Random

    async def proxy(self, request: web.Request, cluster: str, rest: str) -> web.StreamResponse: ...


def _discovery_root(api: ClusterApi, request: web.Request, root: str) -> web.Response:
    media = negotiation.negotiate(request.headers.get("Accept"), discovery=True)
    if media.as_ == "APIGroupDiscoveryList":
        return responses.raw(api.discovery.aggregated[(root, media.version)], content_type=media.content_type)
    return responses.raw(api.discovery.api_versions if root == "api" else api.discovery.group_list)


async def handle(api: ClusterApi, request: web.Request, path: str, services: Services) -> web.StreamResponse:
    """Answer ``request`` for ``path`` (already stripped of any proxy prefix) from ``api``."""
    try:
        return await _route(api, request, path, services)
    except errors.ApiError as exc:
        return responses.error(exc)


async def _route(api: ClusterApi, request: web.Request, path: str, services: Services) -> web.StreamResponse:
    method = request.method
    if path in ("/api", "/api/", "/apis", "/apis/"):
        if method != "GET":
            raise responses.method_not_allowed()
        return _discovery_root(api, request, path.strip("/"))
    if path == "/version" or path == "/version/":
        return responses.raw(api.version_body)
    if path.startswith("/openapi/"):
        return openapi_routes.serve(api, request, path)
    if path in ("/healthz", "/livez", "/readyz"):
        return web.Response(text="ok", content_type="text/plain")
    parsed = paths.parse(path, api.registry)
    if parsed is None:
        raise responses.not_found_path()
    if isinstance(parsed, paths.GroupPath):
        return responses.raw(api.discovery.groups[parsed.group])
    if isinstance(parsed, paths.GroupVersionPath):
        return responses.raw(api.discovery.resource_lists[(parsed.group, parsed.version)])
    target = parsed
    if target.subresource == "proxy":
        assert target.name is not None
        return await services.proxy(request, target.name, target.rest or "/")
    if method == "GET":
        media = negotiation.negotiate(request.headers.get("Accept"), resource=True)
        if target.subresource == "scale":
            return responses.json(scale.get(api, target))
        opts = ListOptions.parse(request.query) if request.query_string else NO_LIST_OPTIONS
        if target.watch or opts.watch:
            return await watching.watch(api, request, target, media, opts, reaper=services.reaper, rng=services.rng)
        if target.name is not None:
            return reads.get(api, request, target, media)
        return reads.list_(api, request, target, media, opts)
    if method == "POST":
        if target.name is not None:
            raise responses.method_not_allowed()
        return await writes.create(api, request, target)
    if target.watch:
        raise responses.method_not_allowed()
    if method == "PUT" and target.name is not None:
        return await writes.replace(api, request, target)
    if method == "PATCH" and target.name is not None:
        return await patch(api, request, target)
    if method == "DELETE":
        if target.name is not None:
            return await writes.delete(api, request, target)
        return await writes.delete_collection(api, request, target)
    raise responses.method_not_allowed()
