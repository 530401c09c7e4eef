"""Watch: a chunked stream of ``{"type": ..., "object": ...}`` JSON lines, one per change.

As the apiserver does it: no ``resourceVersion`` (or "0") starts with synthetic ``ADDED``
events for what exists; a version older than the kept history gets a single ``ERROR`` event
carrying a 410 ``Expired`` Status; ``allowWatchBookmarks`` adds ``BOOKMARK`` events;
``timeoutSeconds`` ends the stream cleanly (default: 30 to 60 minutes, like the apiserver's
``--min-request-timeout`` jitter). Table watches (``kubectl get --watch``) send one-row Tables
with column definitions in the first event only.

A client that goes away mid-watch is noticed by :class:`WatchReaper`, one task for all
watches, which polls their connections: aiohttp does not cancel handlers on disconnect
unless the runner was built with ``handler_cancellation=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import orjson
from aiohttp import web

from kurator_sim import errors
from kurator_sim.api import tables
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.negotiation import MediaType
from kurator_sim.api.options import ListOptions
from kurator_sim.api.paths import ResourcePath
from kurator_sim.store.watch import Subscription, WatchEvent

Obj = dict[str, Any]
MIN_REQUEST_TIMEOUT = 1800.0


class WatchReaper:
    """Closes the subscriptions of watches whose client has disconnected."""

    def __init__(self, *, interval_seconds: float = 1.0) -> None:
        self._interval = interval_seconds
        self._watches: dict[Subscription, web.Request] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, sub: Subscription, request: web.Request) -> None:
        self._watches[sub] = request

    def discard(self, sub: Subscription) -> None:
        self._watches.pop(sub, None)

    def __len__(self) -> int:
        return len(self._watches)

    def _sweep(self) -> None:
        for sub, request in list(self._watches.items()):
            transport = request.transport
            if transport is None or transport.is_closing():
                sub.close()
                self._watches.pop(sub, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self._sweep()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="watch-reaper")

    async def stop(self) -> None:
        """Stop reaping and end every open watch (server shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sub in list(self._watches):
            sub.close()
        self._watches.clear()


def encode_event(event_type: str, obj: Obj) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + orjson.dumps(obj) + b"}\n"


class _SharedLines:
    """Wire lines of recent events, shared by every watcher of the same change.

    The store hands the same object to all subscriptions of a change, so with a thousand
    watchers one encoding serves them all. Entries keep their object alive, so an ``id`` in
    the key cannot be reused while it is cached.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._lines: dict[tuple[int, int, str, str], tuple[Obj, bytes]] = {}

    def line(self, event: WatchEvent, api_version: str) -> bytes:
        obj, event_type = event.object, event.type
        key = (id(obj), event.resource_version, event_type, api_version)
        hit = self._lines.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        wire = obj if obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version}
        line = encode_event(event_type, wire)
        if len(self._lines) >= self._size:
            del self._lines[next(iter(self._lines))]
        self._lines[key] = (obj, line)
        return line


_shared = _SharedLines()


class _Encoder:
    """Turns store events into wire lines in the negotiated representation."""

    def __init__(self, api: ClusterApi, target: ResourcePath, media: MediaType, include_object: str) -> None:
        self.api = api
        self.rt = target.rt
        self.media = media
        self.include_object = include_object
        self.first = True

    def line(self, event: WatchEvent) -> bytes:
        obj = event.object
        if not self.media.as_ and event.type != "BOOKMARK":
            return _shared.line(event, self.rt.api_version)
        if obj.get("apiVersion") != self.rt.api_version and event.type != "BOOKMARK":
            # History holds the storage version; a watch on another served version sees its own.
            obj = {**obj, "apiVersion": self.rt.api_version}
        if self.media.as_ == "Table":
            if event.type == "BOOKMARK":
                return encode_event(event.type, obj)
            obj = tables.represent(
                self.rt,
                obj,
                media=self.media,
                include_object=self.include_object,
                now=self.api.clock.now(),
                with_columns=self.first,
            )
            self.first = False
        elif self.media.as_:
            obj = tables.partial(obj, self.media.version)
        return encode_event(event.type, obj)


INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _initial_events_end(target: ResourcePath, resource_version: int) -> Obj:
    return {
        "apiVersion": target.rt.api_version,
        "kind": target.rt.kind,
        "metadata": {"resourceVersion": str(resource_version), "annotations": {INITIAL_EVENTS_END: "true"}},
    }


async def watch(
    api: ClusterApi,
    request: web.Request,
    target: ResourcePath,
    media: MediaType,
    opts: ListOptions,
    *,
    reaper: WatchReaper,
    rng: random.Random,
) -> web.StreamResponse:
    field_selector = opts.field_selector
    if target.name is not None:
        # ``/watch/namespaces/x/configmaps/y``: a watch of one object is a name field selector.
        by_name = f"metadata.name={target.name}"
        field_selector = f"{field_selector},{by_name}" if field_selector else by_name
    expired: errors.ApiError | None = None
    sub: Subscription | None = None
    initial: list[WatchEvent] = []
    resource_version = opts.resource_version
    if opts.send_initial_events:
        # Streaming lists (client-go's WatchList): the current state as ADDED events, then a
        # bookmark marking their end, then changes. Listing and subscribing with no await in
        # between keeps the two consistent.
        listed = api.store.list(
            target.rt,
            target.namespace,
            label_selector=opts.label_selector,
            field_selector=field_selector,
            copy_items=False,
        )
        initial = [WatchEvent("ADDED", o, int(o["metadata"]["resourceVersion"])) for o in listed.items]
        initial.append(WatchEvent("BOOKMARK", _initial_events_end(target, listed.resource_version), 0))
        resource_version = str(listed.resource_version)
    try:
        sub = api.store.watch(
            target.rt,
            target.namespace,
            resource_version=resource_version,
            label_selector=opts.label_selector,
            field_selector=field_selector,
            bookmarks=opts.bookmarks,
        )
    except errors.ApiError as exc:
        if exc.code != 410:
            raise
        expired = exc
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if expired is not None or sub is None:
        status = expired.status() if expired is not None else {}
        await response.write(encode_event("ERROR", status))
        await response.write_eof()
        return response
    encoder = _Encoder(api, target, media, opts.include_object)
    timeout = opts.timeout_seconds
    if timeout is None:
        timeout = MIN_REQUEST_TIMEOUT * (1.0 + rng.random())
    reaper.add(sub, request)
    try:
        async with asyncio.timeout(timeout):
            if initial:
                await response.write(b"".join(encoder.line(event) for event in initial))
            # What piled up since the last write goes out as one chunk: one send, not one per event.
            async for batch in sub.batches():
                await response.write(b"".join(encoder.line(event) for event in batch))
    except TimeoutError:
        pass
    except (ConnectionResetError, ConnectionError):
        return response
    finally:
        reaper.discard(sub)
        sub.close()
    with contextlib.suppress(ConnectionResetError, ConnectionError):
        await response.write_eof()
    return response
