"""Karmada Cluster objects: join, heartbeats, resource summary, readiness timing and taints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kurator_sim import resources
from kurator_sim.clock import SimClock
from kurator_sim.controllers.clusters import ClusterStatusController
from kurator_sim.controllers.karmada_cluster_health import ClusterHealthController
from kurator_sim.controllers.kube_nodes import NodeHeartbeatController
from kurator_sim.controllers.manager import Controller
from kurator_sim.controllers.workloads import DeploymentController
from kurator_sim.fleet import Fleet
from kurator_sim.topology import Topology
from shared.testing.eventually import eventually

SCALE = 100.0
TOPOLOGY: dict[str, Any] = {
    "clusters": [
        {
            "name": "member1",
            "provider": "aws",
            "region": "us-east",
            "zones": ["us-east-1a", "us-east-1b"],
            "labels": {"environment": "production"},
            "kubernetesVersion": "v1.30.2",
            "nodes": {"count": 2, "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
            "taints": [{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}],
            "edgeNodes": [{"name": "edge-1", "ip": "192.168.1.10"}],
        },
        {
            "name": "member2",
            "syncMode": "Pull",
            "nodes": {"count": 1, "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"}},
        },
    ]
}


def make_fleet() -> Fleet:
    return Fleet(Topology.model_validate(TOPOLOGY), registry=resources.default_registry(), clock=SimClock(scale=SCALE))


@asynccontextmanager
async def running(fleet: Fleet) -> AsyncIterator[None]:
    controllers: list[Controller] = [
        ClusterStatusController(fleet=fleet),
        ClusterHealthController(fleet=fleet),
        NodeHeartbeatController(fleet=fleet),
        DeploymentController(fleet=fleet),
    ]
    tasks = [asyncio.create_task(c.run()) for c in controllers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        assert not failures, failures


def cluster(fleet: Fleet, name: str) -> dict[str, Any]:
    obj = fleet.host.find(fleet.host_registry.by_key(("cluster.karmada.io", "clusters")), None, name)
    assert obj is not None, f"no Cluster {name}"
    return obj


def ready(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == "Ready"), None)


def taint_keys(obj: dict[str, Any]) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in (obj.get("spec") or {}).get("taints") or ()}


async def test_members_join_as_ready_clusters_with_their_capacity() -> None:
    fleet = make_fleet()
    store = fleet.members["member1"].store
    store.create(
        store.registry.by_key(("apps", "deployments")),
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{"name": "web", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]
                    },
                },
            },
        },
    )
    async with running(fleet):

        async def summarized() -> dict[str, Any]:
            obj = cluster(fleet, "member1")
            assert (ready(obj) or {}).get("status") == "True"
            assert obj["status"]["resourceSummary"]["allocated"]["pods"] == "3"
            return obj

        obj = await eventually(summarized, timeout_seconds=10)
        assert obj["metadata"]["labels"] == {"environment": "production"}
        spec = obj["spec"]
        assert spec["syncMode"] == "Push"
        assert (spec["provider"], spec["region"], spec["zones"]) == ("aws", "us-east", ["us-east-1a", "us-east-1b"])
        assert spec["secretRef"] == {"namespace": "karmada-cluster", "name": "member1"}
        kube_system = store.get(store.registry.by_key(("", "namespaces")), None, "kube-system")
        assert spec["id"] == kube_system["metadata"]["uid"]
        await eventually(lambda: _async(taint_keys(cluster(fleet, "member1")) == {("dedicated", "NoSchedule")}))
        status = cluster(fleet, "member1")["status"]
        assert ready(cluster(fleet, "member1")) == {
            "type": "Ready",
            "status": "True",
            "reason": "ClusterReady",
            "message": "cluster is healthy and ready to accept workloads",
            "lastTransitionTime": ready(obj)["lastTransitionTime"],  # type: ignore[index]
        }
        assert status["kubernetesVersion"] == "v1.30.2"
        apps = next(gv for gv in status["apiEnablements"] if gv["groupVersion"] == "apps/v1")
        assert {"name": "deployments", "kind": "Deployment"} in apps["resources"]
        assert any(gv["groupVersion"] == "batch.volcano.sh/v1alpha1" for gv in status["apiEnablements"])
        # Two worker nodes and one edge node; the edge node's Ready is the KubeEdge controller's.
        assert status["nodeSummary"] == {"totalNum": 3, "readyNum": 2}
        assert status["resourceSummary"] == {
            "allocatable": {"cpu": "12", "memory": "24Gi", "pods": "330"},
            "allocated": {"cpu": "1500m", "memory": "3Gi", "pods": "3"},
            "allocating": {"cpu": "0", "memory": "0", "pods": "0"},
        }
        secret = fleet.host.find(fleet.host_registry.by_key(("", "secrets")), "karmada-cluster", "member1")
        assert secret is not None
        assert fleet.host.find(fleet.host_registry.by_key(("", "namespaces")), None, "karmada-es-member1") is not None

        nodes = store.registry.by_key(("", "nodes"))
        worker = store.get(nodes, None, "member1-node-0")
        node_ready = next(c for c in worker["status"]["conditions"] if c["type"] == "Ready")
        assert (node_ready["status"], node_ready["reason"]) == ("True", "KubeletReady")
        assert "lastHeartbeatTime" in node_ready
        assert store.get(nodes, None, "edge-1")["status"]["conditions"] == []
        lease = store.find(
            store.registry.by_key(("coordination.k8s.io", "leases")), "kube-node-lease", "member1-node-0"
        )
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == "member1-node-0"


async def test_pending_pods_are_allocating() -> None:
    fleet = make_fleet()
    store = fleet.members["member2"].store
    store.create(
        store.registry.by_key(("apps", "deployments")),
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "big", "namespace": "default"},
            "spec": {
                "replicas": 5,
                "template": {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "3"}}}]}},
            },
        },
    )
    async with running(fleet):

        async def summarized() -> dict[str, Any]:
            summary: dict[str, Any] = cluster(fleet, "member2")["status"]["resourceSummary"]
            assert summary["allocated"]["pods"] == "2"
            return summary

        summary = await eventually(summarized, timeout_seconds=10)
        # 8 CPUs hold two pods that request 3 CPUs each (requests default to limits); three wait.
        assert summary["allocated"]["cpu"] == "6"
        assert summary["allocating"] == {"cpu": "9", "memory": "0", "pods": "3"}


async def test_push_member_down_goes_not_ready_after_the_failure_threshold_and_recovers() -> None:
    fleet = make_fleet()
    clock = fleet.clock
    async with running(fleet):
        await eventually(lambda: _async((ready(cluster(fleet, "member1")) or {}).get("status") == "True"))
        fleet.members["member1"].faults.down = True
        went_down = clock.elapsed()

        async def not_ready() -> dict[str, Any]:
            obj = cluster(fleet, "member1")
            assert (ready(obj) or {}).get("status") == "False"
            return obj

        obj = await eventually(not_ready, timeout_seconds=10)
        assert clock.elapsed() - went_down >= 30  # --cluster-failure-threshold
        assert ready(obj)["reason"] == "ClusterNotReachable"  # type: ignore[index]
        assert ready(obj)["message"] == "cluster is not reachable"  # type: ignore[index]

        async def tainted() -> dict[str, Any]:
            obj = cluster(fleet, "member1")
            assert {
                ("cluster.karmada.io/not-ready", "NoSchedule"),
                ("cluster.karmada.io/not-ready", "NoExecute"),
            } <= taint_keys(obj)
            return obj

        obj = await eventually(tainted)
        assert all(t.get("timeAdded") for t in obj["spec"]["taints"] if t["key"].startswith("cluster.karmada.io"))

        fleet.members["member1"].faults.down = False
        came_back = clock.elapsed()
        await eventually(
            lambda: _async((ready(cluster(fleet, "member1")) or {}).get("status") == "True"), timeout_seconds=10
        )
        assert clock.elapsed() - came_back >= 30  # --cluster-success-threshold
        await eventually(lambda: _async(taint_keys(cluster(fleet, "member1")) == {("dedicated", "NoSchedule")}))


async def test_pull_member_down_goes_unknown_after_the_grace_period() -> None:
    fleet = make_fleet()
    clock = fleet.clock
    leases = fleet.host_registry.by_key(("coordination.k8s.io", "leases"))
    async with running(fleet):
        await eventually(lambda: _async((ready(cluster(fleet, "member2")) or {}).get("status") == "True"))
        lease = fleet.host.get(leases, "karmada-cluster", "member2")
        assert lease["spec"]["leaseDurationSeconds"] == 40
        fleet.members["member2"].faults.partitioned = True
        cut = clock.elapsed()

        async def unknown() -> dict[str, Any]:
            obj = cluster(fleet, "member2")
            assert (ready(obj) or {}).get("status") == "Unknown"
            return obj

        obj = await eventually(unknown, timeout_seconds=10)
        assert clock.elapsed() - cut >= 40  # --cluster-monitor-grace-period
        assert ready(obj)["reason"] == "ClusterStatusUnknown"  # type: ignore[index]
        assert ready(obj)["message"] == "Cluster status controller stopped posting cluster status."  # type: ignore[index]
        await eventually(
            lambda: _async(
                {
                    ("cluster.karmada.io/unreachable", "NoSchedule"),
                    ("cluster.karmada.io/unreachable", "NoExecute"),
                }
                == taint_keys(cluster(fleet, "member2"))
            )
        )
        # The member itself keeps running: its kubelets still renew their leases.
        store = fleet.members["member2"].store
        node_leases = store.registry.by_key(("coordination.k8s.io", "leases"))
        before = store.get(node_leases, "kube-node-lease", "member2-node-0")["spec"]["renewTime"]
        await eventually(
            lambda: _async(store.get(node_leases, "kube-node-lease", "member2-node-0")["spec"]["renewTime"] != before)
        )

        fleet.members["member2"].faults.partitioned = False
        await eventually(
            lambda: _async((ready(cluster(fleet, "member2")) or {}).get("status") == "True"), timeout_seconds=10
        )
        await eventually(lambda: _async(not taint_keys(cluster(fleet, "member2"))))


async def test_a_down_member_stops_its_kubelets() -> None:
    fleet = make_fleet()
    store = fleet.members["member1"].store
    node_leases = store.registry.by_key(("coordination.k8s.io", "leases"))
    async with running(fleet):
        await eventually(lambda: _async(store.find(node_leases, "kube-node-lease", "member1-node-0") is not None))
        fleet.members["member1"].faults.down = True
        await fleet.clock.sleep(11)  # one lease renewal period, after any renewal in flight
        frozen = store.get(node_leases, "kube-node-lease", "member1-node-0")["spec"]["renewTime"]
        await fleet.clock.sleep(25)
        assert store.get(node_leases, "kube-node-lease", "member1-node-0")["spec"]["renewTime"] == frozen


async def test_unjoined_clusters_are_not_recreated() -> None:
    fleet = make_fleet()
    controller = ClusterStatusController(fleet=fleet)
    controller.register()
    clusters = fleet.host_registry.by_key(("cluster.karmada.io", "clusters"))
    fleet.host.delete(clusters, None, "member2")
    task = asyncio.create_task(controller.run())
    await fleet.clock.sleep(15)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert fleet.host.find(clusters, None, "member2") is None
    assert fleet.host.find(clusters, None, "member1") is not None


async def _async(value: bool) -> bool:
    assert value
    return value
