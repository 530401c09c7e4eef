"""Watching any resource, forever: list, then watch from the list's version, and recover.

The stages, outermost first (named as kopf names them):

* :func:`infinite_watch` never ends: after a failed request it reconnects with capped
  exponential back-off and resumes from the last version seen; after ``410 Gone`` (the
  version fell out of the server's history) it lists again.
* :func:`continuous_watch` is one list and the watch requests that follow it, until the
  version expires or a request fails. The list ends with a :class:`Synced` marker.
* :func:`watch_objs` is one watch request: the events of one HTTP stream, until the server
  ends it (``timeoutSeconds``) or the caller asks for a re-list.
* :func:`list_objs` is one list, page by page.

Consumers see :class:`ObjectEvent` (``ADDED``/``MODIFIED``/``DELETED`` with the object as a
dict) and :class:`Synced`. A re-list is reconciled with what was known before, as client-go's
reflector does: objects that changed come as ``MODIFIED``, new ones as ``ADDED``, and those
that vanished while the watch was away as ``DELETED`` carrying the last state seen; unchanged
objects are not repeated. Bookmarks only move the resume version.

Requests go through ``kubernetes_asyncio``'s ``ApiClient`` (its configuration, auth and
connection pool) without its model classes: bodies are decoded with orjson and lines are
split here, so an object larger than aiohttp's line limit cannot break the stream.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import orjson
import structlog
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from shared.k8s import errors
from shared.k8s.resources import RawObject, Resource

log = structlog.get_logger(__name__)

ObjectKey = tuple[str, str]
"""``(namespace or "", name)``."""
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
_OBJECT_EVENTS: frozenset[str] = frozenset(("ADDED", "MODIFIED", "DELETED"))


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    type: EventType
    object: RawObject

    @property
    def key(self) -> ObjectKey:
        return key_of(self.object)


@dataclass(frozen=True, slots=True)
class Synced:
    """A list has been delivered: everything known now reflects the server at ``resource_version``."""

    resource_version: str
    count: int
    """Objects known after the list."""
    initial: bool
    """The first list of this watch (not a re-list after 410 or a requested resync)."""


WatchItem = ObjectEvent | Synced


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSettings:
    timeout_seconds: int = 300
    """Server-side ``timeoutSeconds`` of each watch request: streams are renewed this often."""
    idle_timeout_seconds: float = 120.0
    """Client-side: a stream silent this long (no event, no bookmark) is dropped and resumed."""
    request_timeout_seconds: float = 60.0
    """Total time a list page may take."""
    page_size: int = 500
    """Objects per list page (``limit``)."""
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    """Reconnects after failures wait from the initial delay, doubling up to this cap (with jitter)."""
    quick_end_seconds: float = 1.0
    """A stream that ends this fast without a single line counts as a failure (no busy loop)."""


@dataclass
class WatchState:
    """What a watch knows between its requests; pass one in to read it or to ask for a re-list."""

    resource_version: str | None = None
    objects: dict[ObjectKey, RawObject] = field(default_factory=dict)
    listed: int = 0
    """How many lists have completed."""
    _relist: bool = False
    _response: aiohttp.ClientResponse | None = None

    def request_relist(self) -> None:
        """List again as soon as possible (the periodic level-triggered resync).

        Closing the open stream wakes the reader at once instead of at its next event.
        """
        self._relist = True
        if self._response is not None:
            self._response.close()


def key_of(obj: RawObject) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _resource_version(obj: RawObject) -> str | None:
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    return str(rv) if rv else None


def _error(status: int, body: bytes) -> errors.ApiError:
    """A failed response (a ``Status`` body, or anything else) as one of our error types."""
    exc = ApiException(status=status, reason="")
    exc.body = body
    return errors.from_api_exception(exc)


def _broken(exc: BaseException) -> errors.Unavailable:
    return errors.Unavailable(f"the watch connection failed: {type(exc).__name__}: {exc}"[:256])


async def _get(
    api: client.ApiClient, path: str, query: list[tuple[str, str]], *, limits: aiohttp.ClientTimeout
) -> aiohttp.ClientResponse:
    """GET without decoding: the raw aiohttp response (the caller releases it)."""
    try:
        response: aiohttp.ClientResponse = await api.call_api(
            path,
            "GET",
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=limits,
        )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise _broken(exc) from exc
    return response


async def list_objs(
    api: client.ApiClient,
    resource: Resource,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
    settings: WatchSettings = WatchSettings(),
) -> tuple[list[RawObject], str]:
    """Every object (all pages) and the list's resource version.

    Raises:
        shared.k8s.errors.Gone: a continue token expired between pages (list again from the start).
        shared.k8s.errors.ApiError: the request failed (``Unavailable`` when there was no answer).
    """
    items: list[RawObject] = []
    token = ""
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout_seconds)
    while True:
        query = [("limit", str(settings.page_size))]
        if token:
            query.append(("continue", token))
        if label_selector:
            query.append(("labelSelector", label_selector))
        response = await _get(api, resource.path(namespace=namespace), query, limits=timeout)
        try:
            body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _broken(exc) from exc
        finally:
            response.release()
        if response.status != 200:
            raise _error(response.status, body)
        doc = orjson.loads(body)
        kind = str(doc.get("kind", "")).removesuffix("List")
        for item in doc.get("items") or []:
            # Items of built-in lists carry no apiVersion/kind; consumers want whole objects.
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", kind)
            items.append(item)
        meta = doc.get("metadata") or {}
        token = str(meta.get("continue") or "")
        if not token:
            return items, str(meta.get("resourceVersion") or "")


async def watch_objs(
    api: client.ApiClient,
    resource: Resource,
    *,
    resource_version: str,
    state: WatchState,
    namespace: str | None = None,
    label_selector: str | None = None,
    settings: WatchSettings = WatchSettings(),
) -> AsyncGenerator[RawObject, None]:
    """The raw events (``{"type", "object"}``, bookmarks included) of one watch request.

    Ends when the server closes the stream or :meth:`WatchState.request_relist` is called.

    Raises:
        shared.k8s.errors.Gone: the version is too old (status 410, or an ``ERROR`` event with code 410).
        shared.k8s.errors.ApiError: the request failed; ``Unavailable`` when the stream broke
            or went silent for too long.
    """
    query = [
        ("watch", "true"),
        ("resourceVersion", resource_version),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", str(settings.timeout_seconds)),
    ]
    if label_selector:
        query.append(("labelSelector", label_selector))
    timeout = aiohttp.ClientTimeout(
        sock_connect=settings.request_timeout_seconds, sock_read=settings.idle_timeout_seconds
    )
    response = await _get(api, resource.path(namespace=namespace), query, limits=timeout)
    state._response = response
    try:
        if state._relist:
            return  # asked for while this request was on its way (nothing to close then): list now
        if response.status != 200:
            raise _error(response.status, await response.read())
        buffer = b""
        try:
            async for chunk in response.content.iter_any():
                buffer += chunk
                start = 0
                while (end := buffer.find(b"\n", start)) >= 0:
                    line = buffer[start:end]
                    start = end + 1
                    if line.strip():
                        yield _event(line)
                buffer = buffer[start:]
        except (aiohttp.ClientError, TimeoutError) as exc:
            if state._relist:
                return  # we closed it ourselves
            raise _broken(exc) from exc
        if buffer.strip():
            yield _event(buffer)
    finally:
        state._response = None
        response.release()


def _event(line: bytes) -> RawObject:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise errors.ServerError(f"malformed watch event: {line[:200].decode(errors='replace')}") from exc
    if not isinstance(event, dict) or "type" not in event:
        raise errors.ServerError(f"malformed watch event: {line[:200].decode(errors='replace')}")
    if event["type"] == "ERROR":
        status = event.get("object") or {}
        raise _error(int(status.get("code") or 0), orjson.dumps(status))
    return event


def _reconcile(state: WatchState, items: list[RawObject]) -> list[ObjectEvent]:
    """What changed between the objects known and a fresh list (which replaces them)."""
    before = state.objects
    after: dict[ObjectKey, RawObject] = {}
    events: list[ObjectEvent] = []
    for obj in items:
        key = key_of(obj)
        after[key] = obj
        old = before.get(key)
        if old is None:
            events.append(ObjectEvent("ADDED", obj))
        elif _resource_version(old) != _resource_version(obj):
            events.append(ObjectEvent("MODIFIED", obj))
    events.extend(ObjectEvent("DELETED", obj) for key, obj in before.items() if key not in after)
    state.objects = after
    return events


async def continuous_watch(
    api: client.ApiClient,
    resource: Resource,
    *,
    state: WatchState,
    namespace: str | None = None,
    label_selector: str | None = None,
    settings: WatchSettings = WatchSettings(),
) -> AsyncGenerator[WatchItem, None]:
    """List (unless ``state`` can resume), then watch request after watch request.

    Raises:
        shared.k8s.errors.Gone: the version to resume from fell out of the server's history.
        shared.k8s.errors.ApiError: a request failed.
    """
    while True:
        resume = state.resource_version
        if resume is None or state._relist:
            state._relist = False
            items, resume = await list_objs(
                api, resource, namespace=namespace, label_selector=label_selector, settings=settings
            )
            for event in _reconcile(state, items):
                yield event
            state.resource_version = resume
            state.listed += 1
            yield Synced(resource_version=resume, count=len(state.objects), initial=state.listed == 1)
        started = time.monotonic()
        lines = 0
        async for raw in watch_objs(
            api,
            resource,
            resource_version=resume,
            state=state,
            namespace=namespace,
            label_selector=label_selector,
            settings=settings,
        ):
            lines += 1
            kind, obj = raw["type"], raw.get("object") or {}
            version = _resource_version(obj)
            if version:
                state.resource_version = version
            if kind not in _OBJECT_EVENTS:
                continue  # BOOKMARK: only the version moves
            key = key_of(obj)
            if kind == "DELETED":
                state.objects.pop(key, None)
            else:
                state.objects[key] = obj
            yield ObjectEvent(kind, obj)
        if not lines and not state._relist and time.monotonic() - started < settings.quick_end_seconds:
            raise errors.Unavailable("the watch stream ended as soon as it started")


class _Backoff:
    def __init__(self, settings: WatchSettings) -> None:
        self._settings = settings
        self._next = settings.backoff_initial_seconds

    def reset(self) -> None:
        self._next = self._settings.backoff_initial_seconds

    def delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._settings.backoff_max_seconds)
        return delay * random.uniform(0.8, 1.2)  # jitter: replicas must not reconnect in step


async def infinite_watch(
    api: client.ApiClient,
    resource: Resource,
    *,
    state: WatchState | None = None,
    namespace: str | None = None,
    label_selector: str | None = None,
    settings: WatchSettings = WatchSettings(),
) -> AsyncGenerator[WatchItem, None]:
    """Events of ``resource`` for as long as the caller iterates, whatever the server does."""
    state = state if state is not None else WatchState()
    backoff = _Backoff(settings)
    expired_in_a_row = 0
    while True:
        try:
            async for item in continuous_watch(
                api, resource, state=state, namespace=namespace, label_selector=label_selector, settings=settings
            ):
                backoff.reset()
                expired_in_a_row = 0
                yield item
        except errors.Gone as exc:
            log.info(
                "watch.expired",
                resource=resource.path(namespace=namespace),
                version=state.resource_version,
                error=str(exc),
            )
            state.resource_version = None
            expired_in_a_row += 1
            if expired_in_a_row > 1:  # expired again right after a list: do not hammer the server
                await asyncio.sleep(backoff.delay())
        except errors.ApiError as exc:
            delay = backoff.delay()
            log.warning(
                "watch.failed",
                resource=resource.path(namespace=namespace),
                error=str(exc),
                retry_in_seconds=round(delay, 2),
            )
            await asyncio.sleep(delay)
