"""The work queue's drain: waiting keys reconciled back to back in slices, the loop in between."""

from __future__ import annotations

import asyncio
import contextlib

from kurator_sim.clock import SimClock
from kurator_sim.controllers import kube_workqueue


async def test_drain_runs_waiting_keys_in_slices_and_lets_the_loop_run_between() -> None:
    queue: kube_workqueue.WorkQueue[str] = kube_workqueue.WorkQueue(SimClock())
    seen: list[str] = []
    keys = [f"k{i}" for i in range(kube_workqueue.SLICE_KEYS + 2)]
    for key in keys:
        queue.add(key)
    queue.add("k0")  # already waiting: one reconcile

    def reconcile(key: str) -> None:
        if key == "k0":
            asyncio.get_running_loop().call_soon(seen.append, "loop")
        seen.append(key)

    task = asyncio.create_task(kube_workqueue.drain(queue, reconcile, controller="test"))
    try:
        for _ in range(10):
            await asyncio.sleep(0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    slice_ = kube_workqueue.SLICE_KEYS
    assert seen == [*keys[:slice_], "loop", *keys[slice_:]]
    assert len(queue) == 0
