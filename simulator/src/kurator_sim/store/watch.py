"""Watch events and subscriptions.

A subscription receives the events of one resource (optionally one namespace and
selectors). Like the API server's watch cache, an object that stops matching a selector
is delivered as ``DELETED`` and one that starts matching as ``ADDED``. Idle subscriptions
asked for bookmarks get a ``BOOKMARK`` carrying the current resource version.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from kurator_sim.store.selectors import Matcher

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    object: dict[str, Any]
    resource_version: int


@dataclass(frozen=True, slots=True)
class Change:
    """One write, as the store records it in its history."""

    resource_version: int
    key: tuple[str, str]
    namespace: str | None
    type: Literal["ADDED", "MODIFIED", "DELETED"]
    old: dict[str, Any] | None
    new: dict[str, Any]


class Subscription:
    def __init__(
        self,
        *,
        key: tuple[str, str],
        namespace: str | None,
        matcher: Matcher | None,
        bookmark: Callable[[], dict[str, Any]] | None,
        bookmark_interval: float,
        on_close: Callable[[Subscription], None],
    ) -> None:
        self.key = key
        self.namespace = namespace
        self.matcher = matcher
        self._bookmark = bookmark
        self._interval = bookmark_interval
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._on_close = on_close
        self.closed = False

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        return obj is not None and (self.matcher is None or self.matcher(obj))

    def offer(self, change: Change) -> None:
        """Deliver ``change`` if it concerns this subscription (with selector transitions)."""
        if self.closed or change.key != self.key:
            return
        if self.namespace is not None and change.namespace != self.namespace:
            return
        new_ok = self._matches(change.new)
        if change.type == "DELETED":
            if new_ok:
                self._put(WatchEvent("DELETED", change.new, change.resource_version))
            return
        old_ok = self._matches(change.old)
        if new_ok and (change.type == "ADDED" or old_ok):
            self._put(WatchEvent(change.type, change.new, change.resource_version))
        elif new_ok:
            self._put(WatchEvent("ADDED", change.new, change.resource_version))
        elif old_ok and change.old is not None:
            # Stopped matching: watchers see it leave, as with the apiserver's watch cache.
            self._put(WatchEvent("DELETED", change.new, change.resource_version))

    def _put(self, event: WatchEvent) -> None:
        self._queue.put_nowait(event)

    def put_initial(self, event: WatchEvent) -> None:
        self._put(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)
            self._on_close(self)

    async def events(self) -> AsyncIterator[WatchEvent]:
        try:
            while True:
                if not self._queue.empty():
                    # Fast path: no coroutine or timer when an event is already waiting.
                    event = self._queue.get_nowait()
                elif self._bookmark is not None:
                    try:
                        # asyncio.timeout rather than wait_for: no task per wait.
                        async with asyncio.timeout(self._interval):
                            event = await self._queue.get()
                    except TimeoutError:
                        obj = self._bookmark()
                        yield WatchEvent("BOOKMARK", obj, int(obj["metadata"]["resourceVersion"]))
                        continue
                else:
                    event = await self._queue.get()
                if event is None:
                    return
                yield event
        finally:
            self.close()
