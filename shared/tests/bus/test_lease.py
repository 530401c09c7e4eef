"""Why a lease's work stopped, as the work sees it on its way out: lost (the renewal failed,
another replica may hold the lease) or given up (the holder stopping); and nothing outside a
lease. A stand-in for the KV bucket: only the compare-and-set's outcome matters here."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, cast

from nats.js.errors import KeyWrongLastSequenceError

from shared.bus import lease

TTL = timedelta(milliseconds=60)


class Bucket:
    def __init__(self) -> None:
        self.revision = 0
        self.taken = False
        """Another replica wrote the entry: the holder's next compare-and-set fails."""

    async def create(self, key: str, value: bytes) -> int:
        if self.taken:
            raise KeyWrongLastSequenceError()
        self.revision += 1
        return self.revision

    async def update(self, key: str, value: bytes, last: int) -> int:
        if self.taken:
            raise KeyWrongLastSequenceError()
        self.revision += 1
        return self.revision

    async def delete(self, key: str, last: int) -> bool:
        return True


class Work:
    """Work that runs until cancelled and records, on its way out, whether the lease was lost
    (asked from a subtask too: it inherits the lease)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.lost: list[bool] = []

    async def run(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.lost.append(lease.lost())
            self.lost.append(await asyncio.create_task(self._ask()))

    @staticmethod
    async def _ask() -> bool:
        return lease.lost()


async def test_work_stopped_by_a_failed_renewal_sees_the_lease_lost() -> None:
    bucket = Bucket()
    work = Work()
    holder = lease.Lease(cast(Any, bucket), name="fleet.watchers", holder="a", ttl=TTL)
    running = asyncio.create_task(holder.run(work.run))
    try:
        await asyncio.wait_for(work.started.wait(), 1.0)
        bucket.taken = True
        for _ in range(100):
            if work.lost:
                break
            await asyncio.sleep(0.01)
        assert work.lost == [True, True]
        assert holder.lost
    finally:
        running.cancel()
        await asyncio.wait({running})


async def test_work_stopped_by_its_holder_giving_the_lease_up_does_not() -> None:
    work = Work()
    holder = lease.Lease(cast(Any, Bucket()), name="fleet.watchers", holder="a", ttl=TTL)
    running = asyncio.create_task(holder.run(work.run))
    await asyncio.wait_for(work.started.wait(), 1.0)
    await asyncio.sleep(TTL.total_seconds())  # a renewal or two went through
    running.cancel()
    await asyncio.wait({running})
    assert work.lost == [False, False]
    assert not lease.lost()  # outside any lease
