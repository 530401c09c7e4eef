"""Watch over HTTP: JSON-lines event streams with initial state, resourceVersion resumption,
410 Expired for too-old versions, bookmarks, timeouts, Table events and clean-up of watches
whose client went away."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from kurator_sim import testing
from kurator_sim.api.server import SERVER_KEY
from kurator_sim.testing import call

CM = "/api/v1/namespaces/default/configmaps"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


async def _events(resp: aiohttp.ClientResponse, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while len(out) < count:
            line = await resp.content.readline()
            if not line:
                break
            out.append(orjson.loads(line))
    return out


async def test_watch_streams_changes(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", CM, {"metadata": {"name": "w"}, "data": {}})).body
    rv = created["metadata"]["resourceVersion"]
    async with http.get(f"{CM}?watch=true&resourceVersion={rv}") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.headers["Transfer-Encoding"] == "chunked"
        await call(http, "PATCH", f"{CM}/w", {"data": {"k": "v"}}, content_type="application/merge-patch+json")
        await call(http, "POST", CM, {"metadata": {"name": "w2"}})
        await call(http, "DELETE", f"{CM}/w")
        events = await _events(resp, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "w"),
        ("ADDED", "w2"),
        ("DELETED", "w"),
    ]
    assert events[0]["object"]["data"] == {"k": "v"}
    assert events[0]["object"]["kind"] == "ConfigMap"


async def test_watch_without_version_starts_with_current_state(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, {"metadata": {"name": "one", "labels": {"w": "yes"}}})
    await call(http, "POST", CM, {"metadata": {"name": "two"}})
    async with http.get(f"{CM}?watch=1&labelSelector=w%3Dyes") as resp:
        events = await _events(resp, 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "one")]


async def test_legacy_watch_path_and_named_watch(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, {"metadata": {"name": "a"}})
    await call(http, "POST", CM, {"metadata": {"name": "b"}})
    async with http.get("/api/v1/watch/namespaces/default/configmaps/b") as resp:
        events = await _events(resp, 1)
    assert events[0]["object"]["metadata"]["name"] == "b"


async def test_too_old_resource_version_is_an_expired_error_event(sim: testing.RunningSim) -> None:
    store = sim.fleet.host
    store._history.clear()  # as if compaction dropped everything before now
    rt = store.registry.by_key(("", "configmaps"))
    for i in range(3):
        store.create(rt, "default", {"metadata": {"name": f"x{i}"}})
    async with (
        aiohttp.ClientSession(base_url=sim.base_url) as http,
        http.get(f"{CM}?watch=true&resourceVersion=1") as resp,
    ):
        assert resp.status == 200
        events = await _events(resp, 2)
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith("too old resource version")


async def test_timeout_seconds_ends_the_stream(http: aiohttp.ClientSession) -> None:
    async with http.get(f"{CM}?watch=true&timeoutSeconds=1&resourceVersion=1") as resp:
        async with asyncio.timeout(5):
            rest = await resp.content.read()
    # Ended cleanly: whatever arrived is whole lines.
    assert rest == b"" or rest.endswith(b"\n")


async def test_bookmarks(sim: testing.RunningSim) -> None:
    sim.fleet.host.bookmark_interval = 0.2
    async with aiohttp.ClientSession(base_url=sim.base_url) as http:
        rv = (await call(http, "GET", CM)).body["metadata"]["resourceVersion"]
        async with http.get(f"{CM}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}") as resp:
            events = await _events(resp, 1)
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["metadata"]["resourceVersion"] == rv
    assert events[0]["object"]["kind"] == "ConfigMap"


async def test_table_watch_sends_columns_once(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1/namespaces?watch=true", headers={"Accept": TABLE}) as resp:
        events = await _events(resp, 2)
    first, second = events
    assert first["object"]["kind"] == "Table"
    assert [c["name"] for c in first["object"]["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert second["object"]["columnDefinitions"] is None
    row = second["object"]["rows"][0]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["cells"][1] == "Active"


async def test_disconnected_watchers_are_reaped(sim: testing.RunningSim) -> None:
    server = sim.app[SERVER_KEY]
    async with aiohttp.ClientSession(base_url=sim.base_url) as http:
        resp = await http.get(f"{CM}?watch=true&resourceVersion=1")
        await asyncio.sleep(0.2)
        assert sim.fleet.host.watchers() == 1
        resp.close()
    for _ in range(50):  # the reaper sweeps once a second
        if not sim.fleet.host.watchers() and not len(server.reaper):
            break
        await asyncio.sleep(0.1)
    assert sim.fleet.host.watchers() == 0


async def test_many_watchers_each_get_the_event(http: aiohttp.ClientSession) -> None:
    rv = (await call(http, "GET", CM)).body["metadata"]["resourceVersion"]
    responses = [await http.get(f"{CM}?watch=true&resourceVersion={rv}") for _ in range(50)]
    try:
        await call(http, "POST", CM, {"metadata": {"name": "fan"}})
        results = await asyncio.gather(*(_events(r, 1) for r in responses))
    finally:
        for r in responses:
            r.close()
    assert all(events[0]["object"]["metadata"]["name"] == "fan" for events in results)


async def test_send_initial_events_ends_with_a_bookmark(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, {"metadata": {"name": "existing"}})
    query = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    async with http.get(f"{CM}?{query}") as resp:
        events = await _events(resp, 2)
        await call(http, "POST", CM, {"metadata": {"name": "later"}})
        events += await _events(resp, 1)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK", "ADDED"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert events[2]["object"]["metadata"]["name"] == "later"
