"""Leases in a NATS KV bucket: work that must run once fleet-wide (watch loops, cron ticks,
sweeps) runs in the replica holding the lease; another replica takes over when it dies.

The bucket ``kurator_leases`` keeps each entry for ``ttl`` after its last write. A holder
renews its entry every third of the TTL with a compare-and-set on the revision; whoever
creates an absent (or expired) entry holds the lease. A holder that cannot renew (it lost
NATS, or someone else took the entry) stops its work at once; work on its way out asks
:func:`lost` whether that is why, since another replica may hold the lease by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import structlog
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

log = structlog.get_logger(__name__)

BUCKET = "kurator_leases"
STOP_SECONDS = 10.0
"""How long giving up a lease waits for its work to stop, and for the release to be written."""

_RUNNING_UNDER: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("lease", default=None)
"""The lease the current work runs under (set in its task's context, inherited by its subtasks)."""


def lost() -> bool:
    """Whether the lease the calling work runs under was lost (its renewal failed, so another
    replica may hold it already) rather than given up: for work that is stopping, to tell
    whether it may still act on the lease's behalf. False outside any lease."""
    running_under = _RUNNING_UNDER.get()
    return running_under is not None and running_under.lost


async def declare_bucket(js: JetStreamContext, *, ttl: timedelta, replicas: int = 1) -> KeyValue:
    try:
        await js.stream_info(f"KV_{BUCKET}")
    except NotFoundError:
        await js.create_key_value(
            config=api.KeyValueConfig(
                bucket=BUCKET,
                history=1,
                ttl=ttl.total_seconds(),
                storage=api.StorageType.MEMORY,
                replicas=replicas,
                description="leases of work that runs in one replica at a time",
            )
        )
    return await js.key_value(BUCKET)


class Lease:
    def __init__(self, kv: KeyValue, *, name: str, holder: str, ttl: timedelta) -> None:
        self._kv = kv
        self.name = name
        self.holder = holder
        self._ttl = ttl
        self.held = False
        self.lost = False
        """The last holding ended because the renewal failed, not because it was given up."""

    async def _try_acquire(self) -> int | None:
        try:
            return int(await self._kv.create(self.name, self.holder.encode()))
        except (KeyWrongLastSequenceError, BadRequestError):
            return None

    async def run(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Forever: wait for the lease, run ``work`` while holding it, give it up on exit."""
        period = self._ttl.total_seconds() / 3
        while True:
            revision = await self._try_acquire()
            if revision is None:
                await asyncio.sleep(period)
                continue
            self.held = True
            self.lost = False
            log.info("lease.acquired", lease=self.name, holder=self.holder)
            context = contextvars.copy_context()
            context.run(_RUNNING_UNDER.set, self)
            task: asyncio.Task[None] = asyncio.create_task(work(), name=f"lease:{self.name}", context=context)
            try:
                while True:
                    done, _ = await asyncio.wait({task}, timeout=period)
                    if done:
                        task.result()  # surface a crash of the work
                        return
                    try:
                        revision = int(await self._kv.update(self.name, self.holder.encode(), last=revision))
                    except Exception as exc:
                        log.warning("lease.lost", lease=self.name, holder=self.holder, error=str(exc))
                        self.lost = True  # before the work is cancelled: it asks on its way out
                        break
            finally:
                self.held = False
                if not task.done():
                    task.cancel()
                    # asyncio.wait, not ``await task``: the work's own CancelledError must not be
                    # mistaken for ours (or swallow ours), and work that is slow to stop must not
                    # keep the service from stopping.
                    _, pending = await asyncio.wait({task}, timeout=STOP_SECONDS)
                    if pending:
                        log.warning("lease.work_did_not_stop", lease=self.name, seconds=STOP_SECONDS)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._kv.delete(self.name, last=revision), STOP_SECONDS)
