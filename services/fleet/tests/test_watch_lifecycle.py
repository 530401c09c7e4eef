"""The watch side's lifecycle on the real bus and the simulator (20x faster than real time):
the lease moving to another replica (a replica stopping before its statuses went out
publishes them first; one that lost the lease publishes nothing more), objects leaving
Karmada, objects nobody applied as an intent, statuses published without the latest
observation, the Propagation's placements, and the level-triggered resync.

Objects are written straight into the simulator's Karmada store where a test needs Karmada
to change without an intent (a cluster unjoined, a template applied with kubectl).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from kurator_fleet import extensions, watchers
from kurator_fleet.watchers import config
from kurator_sim import app, testing
from kurator_sim.settings import SimSettings
from shared.bus import client, lease, reader
from shared.bus.publisher import Publisher
from shared.contracts import subjects
from shared.testing import services
from shared.testing.eventually import eventually

pytestmark = pytest.mark.slow

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
STAGING = "cluster-suzhou-staging"


def cluster(name: str) -> subjects.ObjectAddress:
    return subjects.ObjectAddress("fleet", "cluster", None, name)


def deployment_address(name: str, namespace: str = "default") -> subjects.ObjectAddress:
    return subjects.ObjectAddress("fleet", "deployment", namespace, name)


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx", "resources": {"requests": {"cpu": "100m"}}}]},
            },
        },
    }


def duplicated_policy(name: str, clusters: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            "placement": {
                "clusterAffinity": {"clusterNames": clusters},
                "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
            },
        },
    }


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def on_msg(self, msg: Msg) -> None:
        self.seen.append((msg.subject.removeprefix("kurator.event.fleet."), orjson.loads(msg.data)))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [payload for subject, payload in self.seen if subject == name]


@pytest.fixture
async def events(nc: Client) -> AsyncIterator[Events]:
    log = Events()
    sub = await nc.subscribe(subjects.events("fleet"), cb=log.on_msg)
    try:
        yield log
    finally:
        await sub.unsubscribe()


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[app.Running, Path]]:
    kubeconfig = tmp_path / "kubeconfig"
    async with app.running(SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=CRDS)) as running:
        yield running, kubeconfig


def replica(
    nats_url: str, kubeconfig: Path, name: str, **overrides: Any
) -> contextlib.AbstractAsyncContextManager[Any]:
    return services.running(
        "fleet",
        nats_url=nats_url,
        extensions=extensions.build,
        kubeconfig=str(kubeconfig),
        lease_seconds=1.5,
        replica_id=name,
        deleted_linger_seconds=0.5,
        **overrides,
    )


async def status_of(nc: Client, address: subjects.ObjectAddress) -> dict[str, Any] | None:
    found = await reader.last(nc.jetstream(), subjects.status(address))
    return None if found is None else found.document


async def until(check: Callable[[], Any], *, message: str, timeout_seconds: float = 10.0) -> Any:
    async def probe() -> Any:
        return check()

    return await eventually(probe, message=message, timeout_seconds=timeout_seconds)


async def phase_of(nc: Client, address: subjects.ObjectAddress, phase: str) -> dict[str, Any]:
    doc = await status_of(nc, address)
    assert doc is not None, "no status"
    assert doc["status"]["phase"] == phase, doc["status"]["phase"]
    return doc


def store_write(running: app.Running, key: tuple[str, str], namespace: str | None, obj: dict[str, Any]) -> None:
    running.fleet.host.create(running.fleet.host_registry.by_key(key), namespace, obj)


async def test_the_lease_moves_and_nothing_is_announced_twice(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client, events: Events
) -> None:
    """Replica b takes the watch over when a stops: it carries on from what is on the bus (no
    second round of ``joined``) and reports what happens next."""
    running, kubeconfig = sim
    members = len(running.fleet.members)
    async with contextlib.AsyncExitStack() as first:
        await first.enter_async_context(replica(nats_url, kubeconfig, "a"))
        await until(lambda: len(events.named("cluster.joined")) == members, message="joined", timeout_seconds=15)
        async with replica(nats_url, kubeconfig, "b"):
            await first.aclose()
            running.fleet.member(STAGING).faults.down = True
            notready = await until(lambda: events.named("cluster.notready"), message="b reports", timeout_seconds=20)
            assert notready[0]["cluster"] == STAGING
            doc = await eventually(lambda: phase_of(nc, cluster(STAGING), "NotReady"), message="NotReady")
            assert doc["status"]["ready"] is False
    assert len(events.named("cluster.joined")) == members


async def test_a_replica_stopping_before_its_statuses_went_out_publishes_them_first(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cluster's ``joined`` goes out at once, its status after the writer's window; a replica
    stopping in between publishes the statuses before it gives the lease up, so the next holder
    does not announce the clusters again."""
    running, kubeconfig = sim
    members = len(running.fleet.members)
    settings = config.WatcherSettings.from_service

    def slow(service_settings: Any) -> config.WatcherSettings:
        # A window far longer than the test needs to stop a: no status can be out by then.
        return dataclasses.replace(settings(service_settings), coalesce=timedelta(seconds=30))

    with monkeypatch.context() as patched:
        patched.setattr(config.WatcherSettings, "from_service", staticmethod(slow))
        async with replica(nats_url, kubeconfig, "a"):
            await until(lambda: len(events.named("cluster.joined")) == members, message="joined", timeout_seconds=15)
            assert all([await status_of(nc, cluster(name)) is None for name in running.fleet.members])
    for name in running.fleet.members:  # published by a on its way out
        await phase_of(nc, cluster(name), "Ready")
    async with replica(nats_url, kubeconfig, "b"):
        running.fleet.member(STAGING).faults.down = True
        notready = await until(lambda: events.named("cluster.notready"), message="b reports", timeout_seconds=20)
        assert notready[0]["cluster"] == STAGING
    assert len(events.named("cluster.joined")) == members


async def test_a_replica_that_lost_the_lease_publishes_nothing_more(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lost, not given up (another replica took the lease entry): the statuses a still holds may
    be stale by now, and the other replica is the one that publishes."""
    running, kubeconfig = sim
    members = len(running.fleet.members)
    settings = config.WatcherSettings.from_service

    def slow(service_settings: Any) -> config.WatcherSettings:
        return dataclasses.replace(settings(service_settings), coalesce=timedelta(seconds=30))

    async def hold_as_x() -> None:
        leases = await nc.jetstream().key_value(lease.BUCKET)  # declared by a
        while True:  # within the TTL (1.5 s): a never gets the lease back
            await leases.put(f"fleet.{watchers.NAME}", b"x")
            await asyncio.sleep(0.3)

    with monkeypatch.context() as patched:
        patched.setattr(config.WatcherSettings, "from_service", staticmethod(slow))
        async with replica(nats_url, kubeconfig, "a"):
            await until(lambda: len(events.named("cluster.joined")) == members, message="joined", timeout_seconds=15)
            x = asyncio.create_task(hold_as_x())
            try:
                await asyncio.sleep(2.0)  # a's renewal (every 0.5 s) fails, its work stops
                assert all([await status_of(nc, cluster(name)) is None for name in running.fleet.members])
            finally:
                x.cancel()
                await asyncio.wait({x})
    assert all([await status_of(nc, cluster(name)) is None for name in running.fleet.members])


async def test_a_cluster_unjoined_from_karmada_leaves(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client, events: Events
) -> None:
    """A Cluster removed from Karmada: a ``left`` event, a final Deleted status, then no status."""
    running, kubeconfig = sim
    async with replica(nats_url, kubeconfig, "a"):
        await eventually(lambda: phase_of(nc, cluster(STAGING), "Ready"), timeout_seconds=15, message="ready")
        clusters_rt = running.fleet.host_registry.by_key(("cluster.karmada.io", "clusters"))
        running.fleet.host.delete(clusters_rt, None, STAGING)
        left = await until(lambda: events.named("cluster.left"), message="left event", timeout_seconds=15)
        assert left[0]["cluster"] == STAGING

        async def purged() -> bool:
            assert await status_of(nc, cluster(STAGING)) is None, "still there"
            return True

        await eventually(purged, timeout_seconds=10, message="purged")


async def test_a_template_applied_outside_kurator_gets_a_status_and_loses_it(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client
) -> None:
    """Karmada propagates what kubectl applied too: its placement is published on the
    workload's subject with the object's identity as document, and retired when it is gone."""
    running, kubeconfig = sim
    async with replica(nats_url, kubeconfig, "a"):
        store_write(
            running, ("policy.karmada.io", "propagationpolicies"), "default", duplicated_policy("raw", [STAGING])
        )
        store_write(running, ("apps", "deployments"), "default", deployment("raw"))
        doc = await eventually(
            lambda: phase_of(nc, deployment_address("raw"), "Available"), timeout_seconds=15, message="available"
        )
        assert doc["metadata"] == {"name": "raw", "namespace": "default"}
        assert [c["name"] for c in doc["status"]["placement"]["clusters"]] == [STAGING]
        running.fleet.host.delete(running.fleet.host_registry.by_key(("apps", "deployments")), "default", "raw")

        async def purged() -> bool:
            assert await status_of(nc, deployment_address("raw")) is None, "still there"
            return True

        await eventually(purged, timeout_seconds=15, message="retired")


async def test_a_status_published_without_the_observation_is_repaired(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client
) -> None:
    """Another replica's handler (empty observations) answers an intent: the watcher puts the
    placement back, keeping that handler's part of the status."""
    _, kubeconfig = sim
    async with replica(nats_url, kubeconfig, "a"):
        policy, web = duplicated_policy("web", [STAGING]), deployment("web")
        await client.submit(nc, [(subjects.ObjectAddress("fleet", "propagationpolicy", "default", "web"), policy)])
        await client.submit(nc, [(deployment_address("web"), web)])
        doc = await eventually(
            lambda: phase_of(nc, deployment_address("web"), "Available"), timeout_seconds=15, message="available"
        )
        stale = {k: v for k, v in doc.items() if k != "status"}
        stale["status"] = {"phase": "Applied", "observedGeneration": 1, "conditions": [], "written": ["elsewhere"]}
        other = Publisher(nc, source="kurator/fleet/other-replica")
        await other.status(deployment_address("web"), stale, causation_id=None)

        async def repaired() -> dict[str, Any]:
            found = await phase_of(nc, deployment_address("web"), "Available")
            assert found["status"]["written"] == ["elsewhere"]
            assert found["status"]["placement"]["clusters"][0]["name"] == STAGING
            return found

        await eventually(repaired, timeout_seconds=10, message="repaired")


async def test_a_propagation_shows_where_its_templates_went(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client
) -> None:
    """A Propagation's status gets ``placements`` for its templates and an overall phase."""
    _, kubeconfig = sim
    doc = {
        "apiVersion": "fleet.kurator.dev/v1alpha1",
        "kind": "Propagation",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": "default", "name": "shop"},
            "templates": [deployment("shop-web")],
            "placement": {
                "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
                "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
            },
        },
    }
    address = subjects.ObjectAddress("fleet", "propagation", "default", "shop")
    async with replica(nats_url, kubeconfig, "a"):
        [answer] = await client.submit(nc, [(address, doc)], timeout_seconds=30)
        assert answer.ok, answer.reasons
        found = await eventually(lambda: phase_of(nc, address, "Available"), timeout_seconds=15, message="available")
        [line] = found["status"]["placements"]
        assert line["resource"]["name"] == "shop-web"
        assert {c["name"] for c in line["clusters"]} == {"cluster-beijing", "cluster-shanghai"}
        assert found["status"]["written"]  # the write side's part stays


async def test_resync_restores_a_purged_status_and_retires_what_vanished_meanwhile(
    sim: tuple[app.Running, Path], nats_url: str, nc: Client
) -> None:
    """Level-triggered: a cluster status purged behind the watcher's back comes back at the next
    resync; a cluster that left while no replica watched is retired when one starts."""
    running, kubeconfig = sim
    js = nc.jetstream()
    async with replica(nats_url, kubeconfig, "a", resync_seconds=1.0):
        await eventually(lambda: phase_of(nc, cluster("cluster-beijing"), "Ready"), timeout_seconds=15, message="up")
        await eventually(lambda: phase_of(nc, cluster(STAGING), "Ready"), timeout_seconds=15, message="up")
        await js.purge_stream(subjects.STATUS_STREAM, subject=subjects.status(cluster("cluster-beijing")))
        await eventually(lambda: phase_of(nc, cluster("cluster-beijing"), "Ready"), timeout_seconds=10, message="back")
    clusters_rt = running.fleet.host_registry.by_key(("cluster.karmada.io", "clusters"))
    running.fleet.host.delete(clusters_rt, None, STAGING)  # while no replica watches
    async with replica(nats_url, kubeconfig, "b"):

        async def gone() -> bool:
            assert await status_of(nc, cluster(STAGING)) is None, "still there"
            return True

        await eventually(gone, timeout_seconds=15, message="retired at start")
