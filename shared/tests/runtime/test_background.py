"""Background work: singletons run in one replica at a time, and move when the holder stops."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client

from shared.runtime import extensions
from shared.testing import services
from shared.testing.eventually import eventually


def ticker(name: str, running: dict[str, int]) -> extensions.ExtensionFactory:
    def build(_: extensions.ServiceContext) -> extensions.Extensions:
        async def work() -> None:
            running[name] = running.get(name, 0) + 1
            try:
                await asyncio.Event().wait()
            finally:
                running[name] -= 1

        return extensions.Extensions(background=[extensions.Background("watch", work)])

    return build


async def test_singleton_runs_in_one_replica_and_fails_over(nc: Client, nats_url: str) -> None:
    """Two replicas: only the first runs the work, through several renewals; when it stops,
    the other takes over within the lease TTL."""
    running: dict[str, int] = {}

    async def active() -> list[str]:
        return [name for name, count in running.items() if count > 0]

    async def only(name: str) -> bool:
        return await active() == [name]

    def replica(name: str) -> contextlib.AbstractAsyncContextManager[object]:
        return services.running(
            "fleet", nats_url=nats_url, extensions=ticker(name, running), lease_seconds=1.5, replica_id=name
        )

    async with contextlib.AsyncExitStack() as first:
        await first.enter_async_context(replica("a"))
        await eventually(lambda: only("a"), message="a holds the lease")
        async with replica("b"):
            await asyncio.sleep(2.0)  # several renewals: b must not start the work too
            assert await active() == ["a"]
            await first.aclose()  # a stops and gives the lease up
            await eventually(lambda: only("b"), timeout_seconds=10, message="b takes over")


async def test_work_that_will_not_stop_does_not_hold_the_service(nc: Client, nats_url: str) -> None:
    """Singleton work that swallows its cancellation (a bug, or a stuck close) is left behind
    after the drain timeout, and the service still stops, with the lease given up."""
    started = asyncio.Event()
    release = asyncio.Event()

    def build(_: extensions.ServiceContext) -> extensions.Extensions:
        async def stubborn() -> None:
            started.set()
            while not release.is_set():
                with contextlib.suppress(asyncio.CancelledError):
                    await release.wait()

        return extensions.Extensions(background=[extensions.Background("stubborn", stubborn)])

    loop = asyncio.get_running_loop()
    async with services.running("fleet", nats_url=nats_url, extensions=build, drain_timeout_seconds=0.5):
        await eventually(lambda: _is_set(started), message="the work started")
        stopping = loop.time()
    try:
        # The lease waits up to lease.STOP_SECONDS for the work, then the runtime moves on.
        assert loop.time() - stopping < 30
    finally:
        release.set()


async def _is_set(event: asyncio.Event) -> bool:
    return event.is_set()
