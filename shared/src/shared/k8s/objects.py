"""Generic object operations on one API server: server-side apply, get, list, delete.

Any resource works, built-in or custom, named by a :class:`~shared.k8s.resources.Resource`.
Writes are server-side apply (DESIGN 3) as one field manager (``kurator-<service>``), forced:
the service is the declared owner of what it writes, so it takes fields over rather than
failing on another manager's conflicting value.

kubernetes_asyncio's generated APIs choose JSON or merge patch by the body's type and cannot
reach the core group generically, so every call is made here with an explicit path and
``Content-Type`` (``application/apply-patch+yaml``: JSON is YAML), through the ``ApiClient``'s
connection pool and credentials (:mod:`shared.k8s.transport`). Not through
``ApiClient.call_api``: our bodies are plain JSON documents already, and its generic walk over
them (``sanitize_for_serialization``), ``json`` encoding and decoding cost more than the
request. Each call is one OpenTelemetry span (:mod:`shared.k8s.tracing`) and raises only
:mod:`shared.k8s.errors` types.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

import aiohttp
import orjson
from kubernetes_asyncio import client
from opentelemetry import trace

from shared.k8s import errors, resources, tracing, transport
from shared.k8s.resources import RawObject, Resource

APPLY_PATCH: Final = "application/apply-patch+yaml"


class Objects:
    """Object operations as one field manager; cheap to make, shares the ``ApiClient``."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        field_manager: str,
        tracer: trace.Tracer | None = None,
        request_timeout: timedelta = timedelta(seconds=10),
    ) -> None:
        self._api = api
        self.field_manager = field_manager
        self._tracer = tracer or tracing.default_tracer()
        self._timeout = request_timeout.total_seconds()
        self._client_timeout = aiohttp.ClientTimeout(total=self._timeout)
        self._transport = transport.for_api(api)
        self._discovered: dict[str, dict[str, Resource]] = {}
        self._discovery_lock = asyncio.Lock()

    # --- writes ----------------------------------------------------------------------------

    async def apply(
        self,
        resource: Resource,
        body: Mapping[str, Any],
        *,
        field_manager: str | None = None,
        force: bool = True,
    ) -> RawObject:
        """Server-side apply ``body`` (it names itself in ``metadata``); returns the object as stored.

        Fields this manager applied before and ``body`` leaves out are removed (SSA semantics),
        so one manager must always send its whole intent for an object.
        """
        meta = body.get("metadata") or {}
        name, namespace = meta.get("name"), meta.get("namespace")
        if not isinstance(name, str) or not name:
            raise ValueError("server-side apply needs metadata.name")
        doc = {"apiVersion": resource.api_version, "kind": resource.kind, **body} if resource.kind else dict(body)
        path = resource.path(namespace=namespace if resource.namespaced else None, name=name)
        query = [("fieldManager", field_manager or self.field_manager), ("force", "true" if force else "false")]
        with tracing.call_span(self._tracer, verb="apply", resource=resource, namespace=namespace, name=name) as span:
            result = await self._call("PATCH", path, query=query, body=doc, content_type=APPLY_PATCH)
            if span.is_recording():
                span.set_attribute("k8s.field_manager", field_manager or self.field_manager)
        return _object(result)

    async def delete(
        self,
        resource: Resource,
        *,
        name: str,
        namespace: str | None = None,
        propagation_policy: str = "Background",
        missing_ok: bool = False,
    ) -> bool:
        """Delete one object (dependents are collected in the background); ``False`` if it was absent.

        Raises:
            errors.NotFound: it was absent and ``missing_ok`` is false.
        """
        path = resource.path(namespace=namespace if resource.namespaced else None, name=name)
        try:
            with tracing.call_span(self._tracer, verb="delete", resource=resource, namespace=namespace, name=name):
                await self._call("DELETE", path, query=[("propagationPolicy", propagation_policy)], ok=(200, 202))
        except errors.NotFound:
            if missing_ok:
                return False
            raise
        return True

    # --- reads -----------------------------------------------------------------------------

    async def get(self, resource: Resource, *, name: str, namespace: str | None = None) -> RawObject:
        """One object. Raises :class:`errors.NotFound` when it does not exist."""
        path = resource.path(namespace=namespace if resource.namespaced else None, name=name)
        with tracing.call_span(self._tracer, verb="get", resource=resource, namespace=namespace, name=name):
            return _object(await self._call("GET", path))

    async def find(self, resource: Resource, *, name: str, namespace: str | None = None) -> RawObject | None:
        """One object, or ``None`` when it does not exist."""
        if tracing.makes_spans(self._tracer):
            try:  # the span of a get that found nothing says so (404, as an error)
                return await self.get(resource, name=name, namespace=namespace)
            except errors.NotFound:
                return None
        # Absent is a usual answer here (a fleet write looks before it writes): read as one,
        # without the error it would be built as, raised and caught.
        path = resource.path(namespace=namespace if resource.namespaced else None, name=name)
        found = await self._call("GET", path, absent_ok=True)
        return None if found is _ABSENT else _object(found)

    async def list_objects(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> list[RawObject]:
        """Every object matching the selectors (in ``namespace``, or in all), following pages."""
        path = resource.path(namespace=namespace if resource.namespaced else None)
        query: list[tuple[str, str]] = [("limit", str(page_size))]
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        items: list[RawObject] = []
        token = ""
        with tracing.call_span(self._tracer, verb="list", resource=resource, namespace=namespace) as span:
            while True:
                page = _object(await self._call("GET", path, query=[*query, *([("continue", token)] if token else [])]))
                for item in page.get("items") or ():
                    # Lists of built-in kinds leave apiVersion/kind out of their items.
                    if resource.kind:
                        item.setdefault("apiVersion", resource.api_version)
                        item.setdefault("kind", resource.kind)
                    items.append(item)
                token = str((page.get("metadata") or {}).get("continue") or "")
                if not token:
                    break
            if span.is_recording():
                span.set_attribute("k8s.items", len(items))
        return items

    # --- discovery -------------------------------------------------------------------------

    async def resource_for(self, api_version: str, kind: str) -> Resource:
        """The resource serving ``kind`` in ``api_version``: well known, else from API discovery.

        Discovery answers are cached per group version; a kind missing from the cache asks
        again once (a CRD may have been installed since).

        Raises:
            errors.NotFound: the API server does not serve that kind.
        """
        known = resources.WELL_KNOWN.get((api_version, kind))
        if known is not None:
            return known
        cached = self._discovered.get(api_version, {}).get(kind)
        if cached is not None:
            return cached
        async with self._discovery_lock:
            listing = self._discovered.get(api_version, {})
            if kind in listing:
                return listing[kind]
            path = resources.discovery_path(api_version)
            try:
                with tracing.call_span(self._tracer, verb="discover", path=path):
                    listing = resources.from_api_resource_list(_object(await self._call("GET", path)))
            except errors.NotFound as exc:
                raise errors.NotFound(
                    f"the server does not serve {api_version}", status=404, reason="NotFound"
                ) from exc
            self._discovered[api_version] = listing
        found = listing.get(kind)
        if found is None:
            message = f'no kind "{kind}" is served in version "{api_version}"'
            raise errors.NotFound(message, status=404, reason="NotFound")
        return found

    # --- the one place that talks to the client --------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        ok: Sequence[int] = (200, 201),
        absent_ok: bool = False,
    ) -> Any:
        """The answer's JSON; ``_ABSENT`` for a 404 when ``absent_ok``."""
        headers = _HEADERS.get(content_type) or {"Accept": "application/json", "Content-Type": content_type}
        data = orjson.dumps(body) if body is not None else None
        try:
            answer = await self._transport.request(
                method, path, query=query, headers=headers, body=data, limits=self._client_timeout
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise errors.translation(exc) from exc
        if not 200 <= answer.status <= 299:
            if absent_ok and answer.status == 404:  # what errors.NotFound stands for, whatever the body
                return _ABSENT
            failed = client.ApiException(status=answer.status, reason=answer.reason)
            failed.body, failed.headers = answer.body, answer.headers
            raise errors.translation(failed) from failed
        if answer.status not in ok:
            return None  # a success we do not expect an object from
        try:
            return orjson.loads(answer.body)
        except orjson.JSONDecodeError as exc:
            raise errors.ApiError(f"the API server answered {len(answer.body)} bytes that are not JSON") from exc


_ABSENT: Final = object()
_HEADERS: Final = {
    ctype: {"Accept": "application/json", "Content-Type": ctype} for ctype in ("application/json", APPLY_PATCH)
}
"""The request headers by content type (the transport copies them before adding its own)."""


def _object(value: Any) -> RawObject:
    if not isinstance(value, dict):
        raise errors.ApiError(f"the API server answered {type(value).__name__}, not an object")
    return value
