"""The Karmada cluster proxy: each member's own API under
``/apis/cluster.karmada.io/v1alpha1/clusters/<name>/proxy``, with faults applied."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from kurator_sim import faults, testing
from kurator_sim.api import proxy
from kurator_sim.testing import call

BJ = "/apis/cluster.karmada.io/v1alpha1/clusters/cluster-beijing/proxy"


async def test_member_nodes_and_objects_are_its_own(http: aiohttp.ClientSession, sim: testing.RunningSim) -> None:
    nodes = await call(http, "GET", BJ + "/api/v1/nodes")
    assert nodes.status == 200
    expected = len(
        list(sim.fleet.members["cluster-beijing"].store.iter_raw(sim.fleet.member_registry.by_key(("", "nodes"))))
    )
    assert len(nodes.body["items"]) == expected > 0
    assert all(n["metadata"]["name"].startswith("cluster-beijing") for n in nodes.body["items"])

    cm = {"metadata": {"name": "only-in-beijing"}}
    assert (await call(http, "POST", BJ + "/api/v1/namespaces/default/configmaps", cm)).status == 201
    assert (await call(http, "GET", BJ + "/api/v1/namespaces/default/configmaps/only-in-beijing")).status == 200
    assert (await call(http, "GET", "/api/v1/namespaces/default/configmaps/only-in-beijing")).status == 404
    other = "/apis/cluster.karmada.io/v1alpha1/clusters/cluster-shanghai/proxy"
    assert (await call(http, "GET", other + "/api/v1/namespaces/default/configmaps/only-in-beijing")).status == 404


async def test_member_does_not_serve_karmada_kinds(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "GET", BJ + "/apis/policy.karmada.io/v1alpha1/propagationpolicies")
    assert reply.status == 404


async def test_watch_through_the_proxy(http: aiohttp.ClientSession) -> None:
    async with http.get(BJ + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1") as resp:
        await call(http, "POST", BJ + "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "seen"}})
        async with asyncio.timeout(5):
            line = await resp.content.readline()
    assert b'"seen"' in line


async def test_unknown_cluster_is_not_found(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "GET", "/apis/cluster.karmada.io/v1alpha1/clusters/nowhere/proxy/api/v1/nodes")
    assert reply.status == 404
    assert reply.body["message"] == 'clusters.cluster.karmada.io "nowhere" not found'


@pytest.mark.parametrize("fault", ["down", "partitioned"])
async def test_unreachable_member_is_service_unavailable(
    http: aiohttp.ClientSession, sim: testing.RunningSim, fault: str
) -> None:
    if fault == "down":
        faults.set_down(sim.fleet, "cluster-beijing")
    else:
        faults.set_partitioned(sim.fleet, "cluster-beijing")
    reply = await call(http, "GET", BJ + "/api/v1/nodes")
    assert reply.status == 503
    assert reply.body["reason"] == "ServiceUnavailable"
    assert "cluster-beijing" in reply.body["message"]
    # Other members and the host are unaffected.
    assert (await call(http, "GET", "/api/v1/namespaces")).status == 200
    other = "/apis/cluster.karmada.io/v1alpha1/clusters/cluster-shanghai/proxy/api/v1/nodes"
    assert (await call(http, "GET", other)).status == 200
    faults.clear(sim.fleet)
    assert (await call(http, "GET", BJ + "/api/v1/nodes")).status == 200


async def test_latency(http: aiohttp.ClientSession, sim: testing.RunningSim) -> None:
    faults.set_api_faults(sim.fleet, "cluster-beijing", latency_seconds=0.3)
    start = time.monotonic()
    assert (await call(http, "GET", BJ + "/version")).status == 200
    assert time.monotonic() - start >= 0.3


async def test_error_rate_fails_that_fraction(http: aiohttp.ClientSession, sim: testing.RunningSim) -> None:
    faults.set_api_faults(sim.fleet, "cluster-beijing", error_rate=0.5)
    codes = [(await call(http, "GET", BJ + "/api/v1/namespaces")).status for _ in range(200)]
    failures = codes.count(500)
    assert set(codes) == {200, 500}
    assert 60 < failures < 140
    reply = await call(http, "GET", BJ + "/version")
    while reply.status != 500:
        reply = await call(http, "GET", BJ + "/version")
    assert reply.body["reason"] == "InternalError"


async def test_error_draws_are_seeded(sim: testing.RunningSim) -> None:
    async def pattern() -> list[int]:
        async with testing.serve(seed=7) as other, aiohttp.ClientSession(base_url=other.base_url) as http:
            faults.set_api_faults(other.fleet, "cluster-beijing", error_rate=0.5)
            return [(await call(http, "GET", BJ + "/version")).status for _ in range(20)]

    assert await pattern() == await pattern()


async def test_timeouts_hang_until_the_client_gives_up(
    http: aiohttp.ClientSession, sim: testing.RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults.set_api_faults(sim.fleet, "cluster-beijing", timeout_rate=1.0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await call(http, "GET", BJ + "/version")
    monkeypatch.setattr(proxy, "HANG_SECONDS", 0.1)
    reply = await call(http, "GET", BJ + "/version")
    assert reply.status == 504


async def test_fault_api_routes_come_before_the_kubernetes_api(http: aiohttp.ClientSession) -> None:
    down = await call(http, "POST", "/sim/v1/clusters/cluster-beijing/down")
    assert down.status == 200
    assert (await call(http, "GET", BJ + "/version")).status == 503
    await call(http, "POST", "/sim/v1/clusters/cluster-beijing/up")
    assert (await call(http, "GET", BJ + "/version")).status == 200
