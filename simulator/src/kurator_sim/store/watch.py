"""Watch events and subscriptions.

A subscription receives the events of one resource (optionally one namespace and
selectors). Like the API server's watch cache, an object that stops matching a selector
is delivered as ``DELETED`` and one that starts matching as ``ADDED``. Idle subscriptions
asked for bookmarks get a ``BOOKMARK`` carrying the current resource version.

Events are consumed by iterating (:meth:`Subscription.batches`, :meth:`Subscription.events`:
the HTTP watches) or handed to a callback (:meth:`Subscription.deliver`: the in-process
controllers, whose callbacks for every write of a loop iteration run from one loop callback).
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from kurator_sim.store.selectors import Matcher

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and one of these
# is made per write. Read only all the same: subscriptions share them, as they share the object.
@dataclass(slots=True)
class WatchEvent:
    type: EventType
    object: dict[str, Any]
    resource_version: int


@dataclass(slots=True)
class Change:
    """One write, as the store records it in its history."""

    resource_version: int
    key: tuple[str, str]
    namespace: str | None
    type: Literal["ADDED", "MODIFIED", "DELETED"]
    old: dict[str, Any] | None
    new: dict[str, Any]
    event: WatchEvent | None = None
    """The event every subscription without a selector gets, made by the first that asks."""

    def plain_event(self) -> WatchEvent:
        """:attr:`event`, made on first use."""
        event = self.event
        if event is None:
            kind = self.type if self.type != "MODIFIED" or self.old is not None else "ADDED"
            event = self.event = WatchEvent(kind, self.new, self.resource_version)
        return event


_READY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Subscription]] = weakref.WeakKeyDictionary()
"""Per loop: the delivering subscriptions with events pending, flushed by one loop callback."""


def _flush(loop: asyncio.AbstractEventLoop) -> None:
    for sub in _READY.pop(loop, ()):
        sub._deliver_pending()


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
        self.plain = matcher is None and namespace is None
        """Every write of its resource concerns it (every controller's watch): the store hands
        these the shared event of a change (:meth:`Change.plain_event`) without :meth:`offer`."""
        self._bookmark = bookmark
        self._interval = bookmark_interval
        # A deque and one waiter rather than an asyncio.Queue: a store write is offered to every
        # subscription of its resource, and the queue's bookkeeping cost more than the rest.
        self._pending: deque[WatchEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._on_close = on_close
        self.closed = False
        self._on_batch: Callable[[list[WatchEvent]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._delivered: asyncio.Future[None] | None = None
        self._queued = False

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        return obj is not None and (self.matcher is None or self.matcher(obj))

    def offer(self, change: Change) -> None:
        """Deliver ``change`` if it concerns this subscription (with selector transitions)."""
        if self.closed or change.key != self.key:
            return
        if self.namespace is not None and change.namespace != self.namespace:
            return
        if self.matcher is None:
            # No selector: no transitions to work out, and one event for all such subscriptions.
            self._put(change.plain_event())
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
        self._pending.append(event)
        if self._waiter is not None:
            self._wake()
        elif self._on_batch is not None and not self._queued:
            self._queue_delivery()

    def _queue_delivery(self) -> None:
        loop = self._loop
        assert loop is not None
        self._queued = True
        ready = _READY.get(loop)
        if ready is None:
            ready = _READY[loop] = []
            # A fresh context: the callbacks are the subscriber's, not the writer's (whose
            # request context, say, the write happened in).
            loop.call_soon(_flush, loop, context=contextvars.Context())
        ready.append(self)

    def _deliver_pending(self) -> None:
        self._queued = False
        on_batch = self._on_batch
        if on_batch is None or not self._pending:
            return
        batch = list(self._pending)
        self._pending.clear()
        try:
            on_batch(batch)
        except Exception as exc:  # the subscriber's bug: it surfaces where deliver() was awaited
            self._on_batch = None
            if self._delivered is not None and not self._delivered.done():
                self._delivered.set_exception(exc)

    async def deliver(self, on_batch: Callable[[list[WatchEvent]], None]) -> None:
        """Hand every event, in batches and oldest first, to ``on_batch`` until the subscription
        closes; raises what ``on_batch`` raised.

        ``on_batch`` runs from a loop callback shared by every delivering subscription with
        events pending, not in a task woken per subscription and event (what in-process
        controllers' watches cost most), and always after the write, never inside it.
        """
        loop = asyncio.get_running_loop()
        self._loop, self._on_batch = loop, on_batch
        delivered = self._delivered = loop.create_future()
        try:
            if self.closed:
                delivered.set_result(None)
            elif self._pending:
                self._queue_delivery()
            await delivered
            # Closed: what was already delivered to the subscription still goes out.
            if self._pending:
                batch = list(self._pending)
                self._pending.clear()
                on_batch(batch)
        finally:
            self._on_batch = None
            self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def put_initial(self, event: WatchEvent) -> None:
        self._put(event)

    def close(self) -> None:
        """End the subscription: events already delivered are still yielded, then iteration stops."""
        if not self.closed:
            self.closed = True
            self._wake()
            if self._delivered is not None and not self._delivered.done():
                self._delivered.set_result(None)
            self._on_close(self)

    async def _wait(self) -> bool:
        """Until an event is pending or the subscription closes; ``False`` when a bookmark is due."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            if self._bookmark is None:
                await waiter
                return True
            try:
                # asyncio.timeout rather than wait_for: no task per wait.
                async with asyncio.timeout(self._interval):
                    await waiter
            except TimeoutError:
                return False
            return True
        finally:
            if self._waiter is waiter:
                self._waiter = None

    async def batches(self) -> AsyncIterator[list[WatchEvent]]:
        """Every event waiting at once, oldest first (writers that send a batch in one go), until
        the subscription closes; a bookmark alone when one is due."""
        try:
            while True:
                if self._pending:
                    batch = list(self._pending)
                    self._pending.clear()
                    yield batch
                    continue
                if self.closed:
                    return
                if not await self._wait():
                    obj = self._bookmark() if self._bookmark is not None else {}
                    yield [WatchEvent("BOOKMARK", obj, int(obj["metadata"]["resourceVersion"]))]
        finally:
            self.close()

    async def events(self) -> AsyncIterator[WatchEvent]:
        """Events one at a time, oldest first, until the subscription closes."""
        try:
            while True:
                if self._pending:
                    # Fast path: no future or timer when an event is already waiting.
                    yield self._pending.popleft()
                    continue
                if self.closed:
                    return
                if not await self._wait():
                    obj = self._bookmark() if self._bookmark is not None else {}
                    yield WatchEvent("BOOKMARK", obj, int(obj["metadata"]["resourceVersion"]))
        finally:
            self.close()
