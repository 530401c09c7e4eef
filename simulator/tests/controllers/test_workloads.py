"""Member Deployments become ready after the delay, as far as the member's nodes can hold them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kurator_sim import resources
from kurator_sim.clock import SimClock
from kurator_sim.controllers.kube_nodes import NodeHeartbeatController
from kurator_sim.controllers.manager import Controller
from kurator_sim.controllers.workloads import DeploymentController, _conditions, max_unavailable, replica_set_name
from kurator_sim.fleet import Fleet
from kurator_sim.topology import Topology
from shared.testing.eventually import eventually

TOPOLOGY: dict[str, Any] = {
    "clusters": [{"name": "member1", "nodes": {"count": 2, "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}]
}


def make_fleet() -> Fleet:
    return Fleet(Topology.model_validate(TOPOLOGY), registry=resources.default_registry(), clock=SimClock(scale=100))


@asynccontextmanager
async def running(fleet: Fleet, *, ready_delay: float = 2.0) -> AsyncIterator[None]:
    controllers: list[Controller] = [
        NodeHeartbeatController(fleet=fleet),
        DeploymentController(fleet=fleet, ready_delay=ready_delay),
    ]
    tasks = [asyncio.create_task(c.run()) for c in controllers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)]


def deployment(name: str, replicas: int, cpu: str = "500m", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]},
            },
            **spec,
        },
    }


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in (obj.get("status") or {}).get("conditions") or ()}


class Member:
    def __init__(self, fleet: Fleet) -> None:
        self.store = fleet.members["member1"].store
        self.rt = self.store.registry.by_key(("apps", "deployments"))

    def create(self, obj: dict[str, Any]) -> None:
        self.store.create(self.rt, "default", obj)

    def get(self, name: str) -> dict[str, Any]:
        return self.store.get(self.rt, "default", name)

    async def wait(self, name: str, **expected: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any]:
            obj = self.get(name)
            status = obj.get("status") or {}
            for key, value in expected.items():
                assert status.get(key) == value, (key, status.get(key), value)
            return obj

        return await eventually(probe, timeout_seconds=10)


async def test_deployment_becomes_ready_after_the_delay() -> None:
    fleet = make_fleet()
    member = Member(fleet)
    async with running(fleet):
        created = fleet.clock.elapsed()
        member.create(deployment("web", 3))
        obj = await member.wait("web", readyReplicas=3)
        assert fleet.clock.elapsed() - created >= 2.0
        status = obj["status"]
        assert status["observedGeneration"] == 1
        assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 3, 3)
        assert "unavailableReplicas" not in status
        assert conditions(obj) == {
            "Available": ("True", "MinimumReplicasAvailable"),
            "Progressing": ("True", "NewReplicaSetAvailable"),
        }
        progressing = next(c for c in status["conditions"] if c["type"] == "Progressing")
        assert progressing["message"].startswith('ReplicaSet "web-')
        assert progressing["message"].endswith("has successfully progressed.")

        scaled = member.get("web")
        scaled["spec"]["replicas"] = 5
        member.store.update(member.rt, "default", "web", scaled)
        obj = await member.wait("web", observedGeneration=2, readyReplicas=5)


async def test_pods_are_not_ready_until_the_delay_has_passed() -> None:
    fleet = make_fleet()
    member = Member(fleet)
    async with running(fleet, ready_delay=60):
        member.create(deployment("slow", 4))
        obj = await member.wait("slow", observedGeneration=1, updatedReplicas=4, unavailableReplicas=4)
        assert "readyReplicas" not in obj["status"]
        assert conditions(obj) == {
            "Available": ("False", "MinimumReplicasUnavailable"),
            "Progressing": ("True", "ReplicaSetUpdated"),
        }
        await member.wait("slow", readyReplicas=4, availableReplicas=4)


async def test_only_the_pods_the_nodes_can_hold_become_ready() -> None:
    fleet = make_fleet()
    member = Member(fleet)
    async with running(fleet):
        # Two nodes of 4 CPUs hold four 2-CPU pods; six of ten never start.
        member.create(deployment("big", 10, cpu="2", progressDeadlineSeconds=30))
        obj = await member.wait("big", readyReplicas=4, unavailableReplicas=6)
        assert conditions(obj)["Available"] == ("False", "MinimumReplicasUnavailable")
        obj = await member.wait("big", readyReplicas=4)

        async def timed_out() -> bool:
            assert conditions(member.get("big"))["Progressing"] == ("False", "ProgressDeadlineExceeded")
            return True

        await eventually(timed_out, timeout_seconds=10)


async def test_a_shortfall_within_max_unavailable_is_still_available() -> None:
    fleet = make_fleet()
    member = Member(fleet)
    async with running(fleet):
        # Four of five 2-CPU pods fit; maxUnavailable is 25 % of 5, rounded down: 1.
        member.create(deployment("most", 5, cpu="2"))
        obj = await member.wait("most", readyReplicas=4, unavailableReplicas=1)
        assert conditions(obj) == {
            "Available": ("True", "MinimumReplicasAvailable"),
            "Progressing": ("True", "ReplicaSetUpdated"),
        }


async def test_a_down_member_changes_nothing_until_it_is_back() -> None:
    fleet = make_fleet()
    member = Member(fleet)
    async with running(fleet):
        await fleet.clock.sleep(1)
        fleet.members["member1"].faults.down = True
        member.create(deployment("web", 2))
        await fleet.clock.sleep(10)
        assert "status" not in member.get("web")
        fleet.members["member1"].faults.down = False
        await member.wait("web", readyReplicas=2)


def test_max_unavailable() -> None:
    assert max_unavailable(deployment("d", 10), 10) == 2
    assert max_unavailable(deployment("d", 3), 3) == 0
    assert max_unavailable(deployment("d", 10, strategy={"rollingUpdate": {"maxUnavailable": 3}}), 10) == 3
    assert max_unavailable(deployment("d", 10, strategy={"type": "Recreate"}), 10) == 0


def test_a_replica_set_is_named_after_its_template() -> None:
    def deployment(image: str, replicas: int) -> dict[str, Any]:
        template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}
        return {"metadata": {"name": "web"}, "spec": {"replicas": replicas, "template": template}}

    first = replica_set_name(deployment("nginx:1.27", 2))
    assert first.startswith("web-")
    assert first[4:].isalnum()
    assert replica_set_name(deployment("nginx:1.27", 5)) == first  # scaling keeps the ReplicaSet
    assert replica_set_name(deployment("nginx:1.28", 2)) != first  # a new template, a new one


def test_conditions_move_their_times_only_when_they_change() -> None:
    stamps = iter(["t1", "t2", "t3"])
    available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    progressing = ("True", "ReplicaSetUpdated", 'ReplicaSet "web-1" is progressing.')
    other = {"type": "ReplicaFailure", "status": "False", "reason": "Quota", "message": "m"}

    first = _conditions([other], available, progressing, lambda: next(stamps))
    assert [c["type"] for c in first] == ["Available", "Progressing", "ReplicaFailure"]
    assert all(c["lastUpdateTime"] == c["lastTransitionTime"] == "t1" for c in first[:2])
    assert first[2] is other

    # Nothing changed: the very list, and no time asked for.
    assert _conditions(first, available, progressing, lambda: next(stamps)) is first

    # A new reason with the same status: lastUpdateTime moves, lastTransitionTime stays.
    done = ("True", "NewReplicaSetAvailable", 'ReplicaSet "web-1" has successfully progressed.')
    second = _conditions(first, available, done, lambda: next(stamps))
    assert second[0] is first[0]
    assert (second[1]["reason"], second[1]["lastUpdateTime"], second[1]["lastTransitionTime"]) == (
        "NewReplicaSetAvailable",
        "t2",
        "t1",
    )
    assert first[1]["reason"] == "ReplicaSetUpdated"  # the old list is left as it was

    # A new status: both times move.
    lost = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    third = _conditions(list(reversed(second)), lost, done, lambda: next(stamps))
    assert [c["type"] for c in third] == ["Available", "Progressing", "ReplicaFailure"]
    assert (third[0]["status"], third[0]["lastUpdateTime"], third[0]["lastTransitionTime"]) == ("False", "t3", "t3")
    assert third[1] is second[1]
