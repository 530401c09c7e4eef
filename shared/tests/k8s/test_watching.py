"""shared.k8s.watching against the simulator's API: list then watch, live events, bookmarks,
re-list after 410 Gone, resuming after the server restarts, and requested re-lists.

The simulator runs in the test's event loop; objects are written straight into its store,
which is what its API handlers do too. Not covered here: authentication (the simulator has
none) and watches of one namespace (the same code path with a longer URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kurator_sim import kubeconfig, testing
from kurator_sim.fleet import Fleet
from shared.k8s import connection, errors, resources, watching
from shared.testing.eventually import eventually

CONFIGMAPS = resources.Resource("", "v1", "configmaps", True, "ConfigMap")
FAST = watching.WatchSettings(backoff_initial_seconds=0.05, backoff_max_seconds=0.2, timeout_seconds=30)


def _configmap(name: str, value: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"v": value},
    }


class Store:
    """Writes to the simulated host's configmaps (what its API handlers do)."""

    def __init__(self, fleet: Fleet) -> None:
        self.store = fleet.host
        self.rt = fleet.host_registry.by_key(("", "configmaps"))

    def create(self, name: str) -> None:
        self.store.create(self.rt, "default", _configmap(name))

    def update(self, name: str, value: str) -> None:
        current = self.store.get(self.rt, "default", name)
        self.store.update(self.rt, "default", name, {**current, "data": {"v": value}})

    def delete(self, name: str) -> None:
        self.store.delete(self.rt, "default", name)


class Recorder:
    """Runs ``infinite_watch`` in a task and records what it yields."""

    def __init__(self) -> None:
        self.items: list[watching.WatchItem] = []
        self.state = watching.WatchState()

    def events(self) -> list[tuple[str, str]]:
        return [(i.type, i.object["metadata"]["name"]) for i in self.items if isinstance(i, watching.ObjectEvent)]

    def synced(self) -> list[watching.Synced]:
        return [i for i in self.items if isinstance(i, watching.Synced)]

    async def run(self, api: connection.ApiClient, resource: resources.Resource = CONFIGMAPS) -> None:
        async for item in watching.infinite_watch(api, resource, namespace="default", state=self.state, settings=FAST):
            self.items.append(item)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def kube_for(sim: testing.RunningSim, tmp_path: Path) -> AsyncIterator[connection.ApiClient]:
    api = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        yield api
    finally:
        await api.close()


@contextlib.asynccontextmanager
async def watching_task(recorder: Recorder, api: connection.ApiClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(recorder.run(api))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_list_then_live_events(tmp_path: Path) -> None:
    """Existing objects come as ADDED, then one Synced(initial), then every change in order."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        store = Store(sim.fleet)
        store.create("before")
        rec = Recorder()
        async with watching_task(rec, api):
            await until(lambda: bool(rec.synced()), message="initial list")
            assert rec.events() == [("ADDED", "before")]
            assert rec.synced()[0].initial
            assert rec.synced()[0].count == 1
            store.create("after")
            store.update("after", "2")
            store.delete("before")
            want = [("ADDED", "before"), ("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "before")]
            await until(lambda: rec.events() == want, message=f"events {rec.events()}")
        assert set(rec.state.objects) == {("default", "after")}
        assert rec.state.objects[("default", "after")]["data"] == {"v": "2"}


async def test_list_pages_and_fills_kind(tmp_path: Path) -> None:
    """A list larger than a page is read whole; items get apiVersion/kind, as watch objects have."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        store = Store(sim.fleet)
        for i in range(7):
            store.create(f"c{i}")
        items, version = await watching.list_objs(
            api, CONFIGMAPS, namespace="default", settings=watching.WatchSettings(page_size=3)
        )
        assert sorted(o["metadata"]["name"] for o in items) == [f"c{i}" for i in range(7)]
        assert all(o["apiVersion"] == "v1" and o["kind"] == "ConfigMap" for o in items)
        assert int(version) == sim.fleet.host.resource_version


async def test_a_too_old_version_is_gone(tmp_path: Path) -> None:
    """Watching from a version the server no longer keeps is 410, typed as Gone."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        store = Store(sim.fleet)
        store.create("a")
        sim.fleet.host._history.clear()  # as if compaction dropped everything before now
        store.create("b")
        store.create("c")
        with pytest.raises(errors.Gone) as expired:
            async for _ in watching.watch_objs(
                api, CONFIGMAPS, resource_version="1", state=watching.WatchState(), settings=FAST
            ):
                pass
        assert expired.value.status == 410


async def test_unknown_resource_is_a_typed_error(tmp_path: Path) -> None:
    """A 404 from the API is our NotFound, and a server that is not there is Unavailable."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        with pytest.raises(errors.NotFound):
            await watching.list_objs(api, resources.Resource("example.com", "v1", "nothings", False))
    nowhere = kubeconfig.write(tmp_path / "nowhere", f"http://127.0.0.1:{_free_port()}")
    api = await connection.api_client(nowhere)
    try:
        with pytest.raises(errors.Unavailable):
            await watching.list_objs(api, CONFIGMAPS)
    finally:
        await api.close()


async def test_resumes_after_a_server_restart_without_relisting(tmp_path: Path) -> None:
    """The server goes away and comes back with its history: the watch reconnects (with
    back-off) and resumes from its last version, so changes made meanwhile arrive as events."""
    port = _free_port()
    fleet = testing.make_fleet()
    store = Store(fleet)
    rec = Recorder()
    path = kubeconfig.write(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", fleet.members)
    api = await connection.api_client(path)
    try:
        task = asyncio.create_task(rec.run(api))
        async with testing.serve(fleet, port=port):
            store.create("x")
            await until(lambda: ("ADDED", "x") in rec.events(), message="x seen")
        # Server down: the watch fails and keeps retrying.
        store.update("x", "2")
        store.create("y")
        async with testing.serve(fleet, port=port):
            want = [("ADDED", "x"), ("MODIFIED", "x"), ("ADDED", "y")]
            await until(lambda: rec.events() == want, timeout_seconds=15, message=f"{rec.events()}")
        assert rec.state.listed == 1  # resumed, never re-listed
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await api.close()


async def test_relists_after_410_and_reconciles(tmp_path: Path) -> None:
    """While the watch is away the history is compacted: on return it gets 410, lists again and
    reports only the difference (changed, new, vanished), then a non-initial Synced."""
    port = _free_port()
    fleet = testing.make_fleet()
    store = Store(fleet)
    for name in ("keep", "change", "remove"):
        store.create(name)
    rec = Recorder()
    path = kubeconfig.write(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", fleet.members)
    api = await connection.api_client(path)
    try:
        task = asyncio.create_task(rec.run(api))
        async with testing.serve(fleet, port=port):
            await until(lambda: len(rec.synced()) == 1, message="initial list")
        store.update("change", "2")
        store.delete("remove")
        store.create("new")
        fleet.host._history.clear()  # compaction while the watch was away
        store.create("unrelated-later")
        rec.items.clear()
        async with testing.serve(fleet, port=port):
            await until(lambda: len(rec.synced()) == 1, timeout_seconds=15, message="re-list")
        assert sorted(rec.events()) == [
            ("ADDED", "new"),
            ("ADDED", "unrelated-later"),
            ("DELETED", "remove"),
            ("MODIFIED", "change"),
        ]
        deleted = next(i for i in rec.items if isinstance(i, watching.ObjectEvent) and i.type == "DELETED")
        assert deleted.object["data"] == {"v": "1"}  # the last state seen
        assert not rec.synced()[0].initial
        assert rec.state.listed == 2
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await api.close()


async def test_requested_relist_repeats_nothing_unchanged(tmp_path: Path) -> None:
    """A resync interrupts the open stream and lists again; with nothing changed it only says Synced."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        store = Store(sim.fleet)
        store.create("a")
        rec = Recorder()
        async with watching_task(rec, api):
            await until(lambda: len(rec.synced()) == 1, message="initial list")
            rec.state.request_relist()
            await until(lambda: len(rec.synced()) == 2, message="re-list")
            assert rec.events() == [("ADDED", "a")]
            store.create("b")  # and the watch goes on after it
            await until(lambda: ("ADDED", "b") in rec.events(), message="b after re-list")


async def test_a_relist_asked_for_between_the_list_and_the_watch_is_not_lost(tmp_path: Path) -> None:
    """Asked for while no stream is open (the consumer holds the Synced item), the re-list still
    comes at once, not after the next stream ends (``timeoutSeconds`` later)."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        Store(sim.fleet).create("a")
        state = watching.WatchState()
        items = watching.continuous_watch(api, CONFIGMAPS, namespace="default", state=state, settings=FAST)
        try:
            async with asyncio.timeout(5):  # the stream itself would last FAST.timeout_seconds (30)
                assert isinstance(await anext(items), watching.ObjectEvent)
                assert isinstance(await anext(items), watching.Synced)
                state.request_relist()
                again = await anext(items)
            assert isinstance(again, watching.Synced)
            assert not again.initial
        finally:
            await items.aclose()


async def test_bookmarks_move_the_resume_version(tmp_path: Path) -> None:
    """Writes to other resources move the server's version; bookmarks carry it to an idle watch."""
    async with testing.serve() as sim, kube_for(sim, tmp_path) as api:
        sim.fleet.host.bookmark_interval = 0.1
        rec = Recorder()
        async with watching_task(rec, api):
            await until(lambda: len(rec.synced()) == 1, message="initial list")
            secrets = sim.fleet.host_registry.by_key(("", "secrets"))
            sim.fleet.host.create(secrets, "default", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
            latest = str(sim.fleet.host.resource_version)
            await until(lambda: rec.state.resource_version == latest, message="bookmark")
            assert rec.events() == []


async def until(check: Callable[[], bool], *, message: str, timeout_seconds: float = 10.0) -> None:
    async def probe() -> bool:
        return check()

    await eventually(probe, message=message, timeout_seconds=timeout_seconds)
