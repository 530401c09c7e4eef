"""The simulated KubeEdge: edge node heartbeats, unreachable edges, NodeGroup membership."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers import kubeedge_nodes
from kurator_sim.controllers.kubeedge import KubeEdgeController
from kurator_sim.controllers.velero import parse_time
from kurator_sim.fleet import Fleet
from kurator_sim.store.objects import ObjectStore
from shared.testing.eventually import eventually

Obj = dict[str, Any]
EDGE = "edge-site-hangzhou"
NODEGROUPS = ("apps.kubeedge.io", "nodegroups")
BELONGING = "apps.kubeedge.io/belonging-to"


@pytest.fixture
def fleet() -> Fleet:
    return Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))


@pytest.fixture
async def kubeedge(fleet: Fleet) -> AsyncIterator[KubeEdgeController]:
    controller = KubeEdgeController(fleet=fleet)
    task = asyncio.create_task(controller.run())
    try:
        yield controller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def edge_store(fleet: Fleet) -> ObjectStore:
    return fleet.member(EDGE).store


def node(store: ObjectStore, name: str) -> Obj:
    return store.get(store.registry.by_key(("", "nodes")), None, name)


def condition(obj: Obj, kind: str = "Ready") -> Obj:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == kind:
            return dict(cond)
    raise AssertionError(f"no {kind} condition: {(obj.get('status') or {}).get('conditions')}")


async def ready_is(store: ObjectStore, name: str, status: str) -> Obj:
    async def probe() -> Obj:
        current = node(store, name)
        assert condition(current)["status"] == status, condition(current)
        return current

    return await eventually(probe, timeout_seconds=10, message=f"{name} Ready={status}")


def unreachable_taints(obj: Obj) -> list[tuple[str, str]]:
    return sorted(
        (t["key"], t["effect"]) for t in (obj.get("spec") or {}).get("taints") or [] if "unreachable" in t["key"]
    )


# --- heartbeats ------------------------------------------------------------------------------------


async def test_edge_nodes_post_ready_and_renew_heartbeats_and_leases(
    fleet: Fleet, kubeedge: KubeEdgeController
) -> None:
    store = edge_store(fleet)
    first = await ready_is(store, "edge-node-01", "True")
    ready = condition(first)
    assert ready["reason"] == "KubeletReady"
    assert ready["message"] == "kubelet is posting ready status"
    assert condition(first, "MemoryPressure")["status"] == "False"
    beat = parse_time(ready["lastHeartbeatTime"])

    async def renewed() -> bool:
        later = parse_time(condition(node(store, "edge-node-01"))["lastHeartbeatTime"])
        assert beat is not None
        assert later is not None
        assert later > beat
        return True

    await eventually(renewed, timeout_seconds=5, message="a newer heartbeat")
    lease = store.get(store.registry.by_key(("coordination.k8s.io", "leases")), "kube-node-lease", "edge-node-01")
    assert lease["spec"]["holderIdentity"] == "edge-node-01"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    (owner,) = lease["metadata"]["ownerReferences"]
    assert owner["kind"] == "Node"
    assert owner["name"] == "edge-node-01"
    cloud = node(store, "edge-site-hangzhou-node-0")
    assert "conditions" not in cloud["status"] or all(
        c["reason"] != "NodeStatusUnknown" for c in cloud["status"]["conditions"]
    ), "ordinary nodes are not the edge controller's"


async def test_edge_node_goes_unknown_after_the_grace_period_and_recovers(
    fleet: Fleet, kubeedge: KubeEdgeController
) -> None:
    store = edge_store(fleet)
    member = fleet.member(EDGE)
    await ready_is(store, "edge-node-01", "True")
    down_at = fleet.clock.elapsed()
    member.edge_down.add("edge-node-01")

    unknown = await ready_is(store, "edge-node-01", "Unknown")
    silent_for = fleet.clock.elapsed() - down_at
    assert silent_for >= 40 - 10, "not before the 40 s grace period since the last heartbeat"
    ready = condition(unknown)
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert condition(unknown, "DiskPressure")["status"] == "Unknown"
    assert unreachable_taints(unknown) == [
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoSchedule"),
    ]
    no_execute = next(t for t in unknown["spec"]["taints"] if t["effect"] == "NoExecute")
    assert parse_time(no_execute["timeAdded"]) is not None
    assert condition(node(store, "edge-node-02"))["status"] == "True", "the other edge node keeps beating"

    member.edge_down.discard("edge-node-01")
    back = await ready_is(store, "edge-node-01", "True")
    assert unreachable_taints(back) == []
    assert condition(back)["reason"] == "KubeletReady"


async def test_a_down_member_loses_all_its_edge_nodes(fleet: Fleet, kubeedge: KubeEdgeController) -> None:
    store = edge_store(fleet)
    await ready_is(store, "edge-node-02", "True")
    fleet.member(EDGE).faults.down = True
    await ready_is(store, "edge-node-01", "Unknown")
    await ready_is(store, "edge-node-02", "Unknown")
    fleet.member(EDGE).faults.down = False
    await ready_is(store, "edge-node-02", "True")


async def test_an_edge_node_that_never_posted_is_never_updated(fleet: Fleet) -> None:
    fleet.member(EDGE).edge_down.add("edge-node-02")
    controller = KubeEdgeController(fleet=fleet, grace_period_seconds=20)
    task = asyncio.create_task(controller.run())
    try:
        unknown = await ready_is(edge_store(fleet), "edge-node-02", "Unknown")
        assert condition(unknown)["reason"] == "NodeStatusNeverUpdated"
        assert condition(unknown)["message"] == "Kubelet never posted node status."
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_grace_period_follows_the_kubernetes_version() -> None:
    assert kubeedge_nodes.grace_period_seconds("v1.29.3") == 40
    assert kubeedge_nodes.grace_period_seconds("v1.31.0") == 40
    assert kubeedge_nodes.grace_period_seconds("v1.32.0") == 50
    assert kubeedge_nodes.grace_period_seconds("v1.33.1-eks") == 50


# --- node groups ------------------------------------------------------------------------------------


def create_group(store: ObjectStore, name: str, spec: Obj) -> None:
    rt = store.registry.by_key(NODEGROUPS)
    store.create(
        rt, None, {"apiVersion": rt.api_version, "kind": "NodeGroup", "metadata": {"name": name}, "spec": spec}
    )


def group_status(store: ObjectStore, name: str) -> list[Obj]:
    group = store.find(store.registry.by_key(NODEGROUPS), None, name)
    assert group is not None
    statuses: list[Obj] = (group.get("status") or {}).get("nodeStatuses") or []
    return statuses


async def test_nodegroups_label_their_nodes_one_group_per_node(fleet: Fleet, kubeedge: KubeEdgeController) -> None:
    store = edge_store(fleet)
    await ready_is(store, "edge-node-01", "True")
    await ready_is(store, "edge-node-02", "True")
    create_group(store, "industrial", {"matchLabels": {"edge-type": "industrial"}})

    async def industrial() -> bool:
        assert node(store, "edge-node-01")["metadata"]["labels"].get(BELONGING) == "industrial"
        assert group_status(store, "industrial") == [
            {"nodeName": "edge-node-01", "readyStatus": "Ready", "selectionStatus": "Succeeded"}
        ]
        return True

    await eventually(industrial, timeout_seconds=5)
    group = store.get(store.registry.by_key(NODEGROUPS), None, "industrial")
    assert group["metadata"]["finalizers"] == ["apps.kubeedge.io/nodegroup-controller"]

    create_group(store, "everything", {"nodes": ["edge-node-01", "edge-node-02", "ghost"]})

    async def everything() -> bool:
        assert group_status(store, "everything") == [
            {
                "nodeName": "edge-node-01",
                "readyStatus": "Ready",
                "selectionStatus": "Failed",
                "selectionStatusReason": "node edge-node-01 has already belonged to NodeGroup industrial",
            },
            {"nodeName": "edge-node-02", "readyStatus": "Ready", "selectionStatus": "Succeeded"},
            {
                "nodeName": "ghost",
                "readyStatus": "Unknown",
                "selectionStatus": "Failed",
                "selectionStatusReason": "node does not exist",
            },
        ]
        assert node(store, "edge-node-02")["metadata"]["labels"].get(BELONGING) == "everything"
        return True

    await eventually(everything, timeout_seconds=5)

    # Deleting the first group frees its node for the second.
    store.delete(store.registry.by_key(NODEGROUPS), None, "industrial")

    async def moved() -> bool:
        assert store.find(store.registry.by_key(NODEGROUPS), None, "industrial") is None
        assert node(store, "edge-node-01")["metadata"]["labels"].get(BELONGING) == "everything"
        assert [s["selectionStatus"] for s in group_status(store, "everything")] == ["Succeeded", "Succeeded", "Failed"]
        return True

    await eventually(moved, timeout_seconds=5)


async def test_nodegroup_reports_readiness_and_drops_nodes_that_leave(
    fleet: Fleet, kubeedge: KubeEdgeController
) -> None:
    store = edge_store(fleet)
    create_group(store, "east", {"matchLabels": {"region": "east-china", "environment": "production"}})

    async def both() -> bool:
        assert [s["nodeName"] for s in group_status(store, "east")] == ["edge-node-01", "edge-node-02"]
        return True

    await eventually(both, timeout_seconds=5)
    fleet.member(EDGE).edge_down.add("edge-node-02")

    async def unknown() -> bool:
        assert [s["readyStatus"] for s in group_status(store, "east")] == ["Ready", "Unknown"]
        return True

    await eventually(unknown, timeout_seconds=10)
    nodes = store.registry.by_key(("", "nodes"))
    moved = node(store, "edge-node-02")
    moved["metadata"]["labels"]["environment"] = "staging"
    store.update(nodes, None, "edge-node-02", moved)

    async def dropped() -> bool:
        assert [s["nodeName"] for s in group_status(store, "east")] == ["edge-node-01"]
        assert BELONGING not in node(store, "edge-node-02")["metadata"]["labels"]
        return True

    await eventually(dropped, timeout_seconds=5)
