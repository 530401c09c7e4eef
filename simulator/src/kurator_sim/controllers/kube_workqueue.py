"""The controller-runtime pattern in miniature: watches feed keys into a deduplicating work queue.

:class:`WorkQueue` holds each key at most once while it waits (a burst of events for one object
costs one reconcile), and :meth:`WorkQueue.add_after` requeues a key after a delay in simulated
seconds. :func:`watch` follows one resource of one store forever (current state first, as
``ADDED`` events) and hands every event to a callback. :func:`drain` runs a synchronous
reconcile function over the queue; an :class:`~kurator_sim.errors.ApiError` (a conflict, a
namespace being deleted) requeues the key, as does :class:`Requeue`; anything else is a bug and ends the controller
(the manager restarts it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, NoReturn, TypeVar

import structlog

from kurator_sim import errors
from kurator_sim.clock import SimClock
from kurator_sim.resources import ResourceType
from kurator_sim.store.objects import ObjectStore
from kurator_sim.store.watch import WatchEvent

K = TypeVar("K", bound=Hashable)

RETRY_SECONDS = 5.0
"""Simulated seconds before a key whose reconcile hit an API error is tried again."""


class Requeue(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a reconcile that must run again later (``after`` simulated seconds)."""

    def __init__(self, after: float = RETRY_SECONDS) -> None:
        super().__init__(f"requeue after {after}s")
        self.after = after


class WorkQueue(Generic[K]):
    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._pending: set[K] = set()
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._timers: set[asyncio.TimerHandle] = set()

    def add(self, key: K) -> None:
        if key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: K, sim_seconds: float) -> None:
        if sim_seconds <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.add(key)

        handle = loop.call_later(self._clock.real_seconds(sim_seconds), fire)
        self._timers.add(handle)

    async def get(self) -> K:
        key = await self._queue.get()
        self._pending.discard(key)
        return key

    def __len__(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        """Cancel delayed adds (call when the owning controller stops)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()


async def watch(
    store: ObjectStore,
    rt: ResourceType,
    on_event: Callable[[WatchEvent], None],
    *,
    namespace: str | None = None,
) -> NoReturn:
    """Deliver every ``ADDED``/``MODIFIED``/``DELETED`` event of ``rt`` in ``store`` to ``on_event``."""

    def on_batch(batch: list[WatchEvent]) -> None:
        for event in batch:
            if event.type != "BOOKMARK" and event.type != "ERROR":
                on_event(event)

    while True:
        subscription = store.watch(rt, namespace)
        try:
            await subscription.deliver(on_batch)
        finally:
            subscription.close()


async def drain(
    queue: WorkQueue[K],
    reconcile: Callable[[K], None],
    *,
    controller: str,
    retry_seconds: float = RETRY_SECONDS,
) -> NoReturn:
    """Reconcile keys from ``queue`` one at a time, forever."""
    log = structlog.get_logger(controller)
    while True:
        key = await queue.get()
        try:
            reconcile(key)
        except Requeue as again:
            queue.add_after(key, again.after)
        except errors.ApiError as exc:
            log.debug("reconcile.retry", key=str(key), code=exc.code, error=exc.message)
            queue.add_after(key, retry_seconds)
        # One reconcile at a time, and never starve the watches and the other controllers: a
        # controller that takes several waiting keys in a row reacts to each intermediate state
        # of its objects (a binding just created, then scheduled, then applied), where one
        # reconcile a turn leaves the other controllers time to move them on, and writes more.
        await asyncio.sleep(0)
