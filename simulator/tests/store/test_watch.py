"""Subscriptions: events in order, what piled up as one batch, bookmarks when idle, and an end
once closed."""

from __future__ import annotations

import asyncio

import pytest

from kurator_sim import testing
from kurator_sim.clock import SimClock
from kurator_sim.store.objects import Obj, ObjectStore
from kurator_sim.store.watch import WatchEvent

CONFIGMAPS = ("", "configmaps")


@pytest.fixture
def store() -> ObjectStore:
    return ObjectStore(
        name="test", registry=testing.load_registry(None), clock=SimClock(), bookmark_interval_seconds=0.05
    )


def _cm(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


async def test_what_piled_up_comes_as_one_batch_in_order(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    sub = store.watch(rt, "default", resource_version=str(store.resource_version))
    for name in ("a", "b", "c"):
        store.create(rt, "default", _cm(name))
    batches = sub.batches()
    first = await anext(batches)
    assert [(e.type, e.object["metadata"]["name"]) for e in first] == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]

    async def later() -> None:
        await asyncio.sleep(0.01)
        store.update(rt, "default", "a", {**_cm("a"), "data": {"k": "changed"}})

    task = asyncio.create_task(later())
    second = await asyncio.wait_for(anext(batches), 1.0)
    await task
    assert [(e.type, e.object["data"]["k"]) for e in second] == [("MODIFIED", "changed")]
    sub.close()
    assert [b async for b in batches] == []
    assert store.watchers() == 0


async def test_events_one_at_a_time_end_after_what_was_delivered(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    store.create(rt, "default", _cm("before"))
    sub = store.watch(rt, "default")
    store.create(rt, "default", _cm("after"))
    sub.close()
    store.create(rt, "default", _cm("too-late"))
    seen = [(e.type, e.object["metadata"]["name"]) async for e in sub.events()]
    assert seen == [("ADDED", "before"), ("ADDED", "after")]


async def test_an_idle_subscription_asked_for_bookmarks_gets_them(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    store.create(rt, "default", _cm("a"))
    sub = store.watch(rt, "default", resource_version=str(store.resource_version), bookmarks=True)
    events = sub.events()
    bookmark: WatchEvent = await asyncio.wait_for(anext(events), 1.0)
    assert bookmark.type == "BOOKMARK"
    assert bookmark.resource_version == store.resource_version
    batch = await asyncio.wait_for(anext(sub.batches()), 1.0)
    assert [e.type for e in batch] == ["BOOKMARK"]
    sub.close()


async def test_a_waiting_reader_wakes_when_closed(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    sub = store.watch(rt, "default", resource_version=str(store.resource_version))

    async def read() -> list[WatchEvent]:
        return [e async for e in sub.events()]

    task = asyncio.create_task(read())
    await asyncio.sleep(0.01)
    sub.close()
    assert await asyncio.wait_for(task, 1.0) == []


async def test_subscriptions_without_selectors_share_one_event_per_write(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    since = str(store.resource_version)
    first = store.watch(rt, None, resource_version=since)
    second = store.watch(rt, "default", resource_version=since)
    labelled = store.watch(rt, None, resource_version=since, label_selector="app=web")
    elsewhere = store.watch(rt, "other", resource_version=since)
    store.create(rt, "default", {**_cm("a"), "metadata": {"name": "a", "labels": {"app": "web"}}})
    store.update(rt, "default", "a", _cm("a"))  # loses its label
    late = store.watch(rt, None, resource_version=since)  # from the history
    (a1, m1), (a2, m2) = await anext(first.batches()), await anext(second.batches())
    assert a1 is a2
    assert m1 is m2
    assert (a1.type, m1.type) == ("ADDED", "MODIFIED")
    a3, m3 = await anext(late.batches())
    assert a3 is a1
    assert m3 is m1
    added, left = await anext(labelled.batches())
    assert (added.type, left.type) == ("ADDED", "DELETED")
    elsewhere.close()
    assert [b async for b in elsewhere.batches()] == []
    for sub in (first, second, labelled, late):
        sub.close()


async def test_delivery_hands_each_iterations_writes_to_the_callback_after_the_writes(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    store.create(rt, "default", _cm("before"))
    sub = store.watch(rt, "default")
    batches: list[list[tuple[str, str]]] = []
    delivering = asyncio.create_task(
        sub.deliver(lambda batch: batches.append([(e.type, e.object["metadata"]["name"]) for e in batch]))
    )
    for _ in range(2):  # the task starts, then the delivery runs
        await asyncio.sleep(0)
    assert batches == [[("ADDED", "before")]]  # the current state first
    store.create(rt, "default", _cm("a"))
    store.update(rt, "default", "a", {**_cm("a"), "data": {"k": "changed"}})
    assert len(batches) == 1  # never inside the write
    await asyncio.sleep(0)
    assert batches[1] == [("ADDED", "a"), ("MODIFIED", "a")]
    store.create(rt, "default", _cm("b"))
    sub.close()
    await delivering  # returns once closed, with what was already delivered handed over
    assert batches[2] == [("ADDED", "b")]
    assert store.watchers() == 0


async def test_delivery_raises_what_the_callback_raised(store: ObjectStore) -> None:
    rt = store.registry.by_key(CONFIGMAPS)
    sub = store.watch(rt, "default", resource_version=str(store.resource_version))

    def broken(batch: list[WatchEvent]) -> None:
        raise RuntimeError("a bug in the subscriber")

    delivering = asyncio.create_task(sub.deliver(broken))
    await asyncio.sleep(0)
    store.create(rt, "default", _cm("a"))
    with pytest.raises(RuntimeError, match="a bug in the subscriber"):
        await asyncio.wait_for(delivering, 1)
    assert sub.closed
    assert store.watchers() == 0
