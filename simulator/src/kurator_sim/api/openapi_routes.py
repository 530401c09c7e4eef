"""OpenAPI endpoints: ``/openapi/v3`` (index), ``/openapi/v3/api/v1`` and
``/openapi/v3/apis/<g>/<v>`` (documents from ``machinery.openapi``), and ``/openapi/v2``.

OpenAPI v3 is what matters: ``kubectl explain`` reads it, and kubectl >= 1.27 looks in it for
the ``fieldValidation`` parameter to decide that the server validates (so it sends
``fieldValidation=Strict`` instead of validating client-side).

``/openapi/v2`` answers an *empty* protobuf ``openapi_v2.Document`` (zero bytes are a valid
message) or a skeleton JSON document: kubectl 1.27 downloads v2 eagerly before ``apply`` and
``create`` and fails the command if it cannot, but an empty v2 document only makes it skip its
client-side schema checks (no definitions to look up), which is right since the server
validates. Documents are built on first use and cached per cluster API.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from kurator_sim.api import openapi_docs, responses
from kurator_sim.api.context import ClusterApi
from kurator_sim.machinery import openapi

V2_CONTENT_TYPE = "application/octet-stream"
"""What the apiserver labels protobuf OpenAPI with; Go's mime parser refuses the requested
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` (the ``@``) as a response type."""


def _v2(api: ClusterApi, request: web.Request) -> web.Response:
    preferred = request.headers.get("Accept", "").split(",")[0]
    if "protobuf" in preferred:
        return web.Response(body=openapi.EMPTY_OPENAPI_V2_PROTOBUF, headers={"Content-Type": V2_CONTENT_TYPE})
    return responses.json(openapi.empty_openapi_v2_json(api.kubernetes_version))


def _v3_docs(api: ClusterApi) -> dict[str, bytes]:
    """``{"apis/apps/v1": document bytes, ...}`` for every served group version."""
    cached = api.cache.get("openapi-v3")
    if cached is None:
        cached = openapi_docs.documents(api)
        api.cache["openapi-v3"] = cached
    result: dict[str, bytes] = cached
    return result


def _index(api: ClusterApi) -> bytes:
    cached = api.cache.get("openapi-v3-index")
    if cached is None:
        cached = orjson.dumps(openapi.discovery_index(_v3_docs(api)))
        api.cache["openapi-v3-index"] = cached
    result: bytes = cached
    return result


def serve(api: ClusterApi, request: web.Request, path: str) -> web.Response:
    path = path.rstrip("/")
    if path == "/openapi/v2":
        return _v2(api, request)
    if path == "/openapi/v3":
        return responses.raw(_index(api))
    if path.startswith("/openapi/v3/"):
        gv = path.removeprefix("/openapi/v3/")
        body = _v3_docs(api).get(gv)
        if body is not None:
            return _v3_document(request, gv, body)
    raise responses.not_found_path()


def _v3_document(request: web.Request, gv: str, body: bytes) -> web.Response:
    """One document, with kube-openapi's caching rules: a stale ``?hash=`` is redirected (301)
    to the current URL, a current one is immutable (kubectl caches it on disk by URL)."""
    etag = openapi.document_etag(body)
    asked = request.query.get("hash")
    if asked and asked != etag:
        raise web.HTTPMovedPermanently(openapi.server_relative_url(gv, etag))
    response = responses.raw(body)
    response.headers["Etag"] = f'"{etag}"'
    if asked:
        response.headers["Cache-Control"] = "public, immutable"
    return response
