"""FederatedDeployment end to end: the apps service asks the fleet service to propagate, the
simulated Karmada (20x real time) places it, and the members are read through Karmada's proxy.

One stack per test: the simulator, the fleet service and the apps service (this area only).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from kurator_apps.federated import service as federated
from kurator_fleet import extensions as fleet_extensions
from kurator_sim import app, faults, testing
from kurator_sim.settings import SimSettings
from shared.bus import client, reader
from shared.contracts import kinds, subjects
from shared.k8s import connection, members, objects
from shared.testing import services
from shared.testing.eventually import eventually

pytestmark = pytest.mark.slow

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
BEIJING, SHANGHAI, HANGZHOU = "cluster-beijing", "cluster-shanghai", "cluster-hangzhou"
Obj = dict[str, Any]


def address(doc: Obj) -> subjects.ObjectAddress:
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    return subjects.ObjectAddress(
        info.service, info.token, doc["metadata"].get("namespace") or "default", doc["metadata"]["name"]
    )


class Stack:
    def __init__(self, sim: app.Running, kube: Any) -> None:
        self.sim = sim
        self.clients = members.MemberClients(kube)
        self._members: dict[str, objects.Objects] = {}
        self.events: list[tuple[str, Obj]] = []

    def member(self, cluster: str) -> objects.Objects:
        """``cluster``'s API through Karmada's proxy."""
        if cluster not in self._members:
            self._members[cluster] = objects.Objects(self.clients(cluster), field_manager="test")
        return self._members[cluster]

    async def on_event(self, msg: Msg) -> None:
        self.events.append((msg.subject.rsplit(".", 1)[1], orjson.loads(msg.data)))


@pytest.fixture
async def stack(nats_url: str, nc: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    kubeconfig = tmp_path / "kubeconfig"
    settings = SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=CRDS)
    async with (
        app.running(settings) as sim,
        services.running("fleet", nats_url=nats_url, extensions=fleet_extensions.build, kubeconfig=str(kubeconfig)),
        services.running(
            "apps", nats_url=nats_url, extensions=federated.build, kubeconfig=str(kubeconfig), lease_seconds=2
        ),
    ):
        kube = await connection.api_client(kubeconfig)
        found = Stack(sim, kube)
        sub = await nc.subscribe(subjects.events("apps"), cb=found.on_event)
        try:
            yield found
        finally:
            await sub.unsubscribe()
            await found.clients.close()
            await kube.close()


async def submit(nc: Client, *docs: Obj, verb: str = "apply") -> list[client.Answer]:
    return await client.submit(nc, [(address(d), d) for d in docs], verb=verb, timeout_seconds=30)


async def fd_status(nc: Client, name: str) -> Obj:
    found = await reader.last(
        nc.jetstream(), subjects.status(subjects.ObjectAddress("apps", "federateddeployment", "default", name))
    )
    assert found is not None, "no status yet"
    st: Obj = found.document["status"]
    return st


async def on_members(stack: Stack, api_version: str, kind: str, name: str) -> dict[str, Obj]:
    """``{cluster: object}`` for every member holding ``kind/name`` in ``default``."""
    out = {}
    for cluster in stack.sim.fleet.members:
        api = stack.member(cluster)
        found = await api.find(await api.resource_for(api_version, kind), name=name, namespace="default")
        if found is not None:
            out[cluster] = found
    return out


async def test_seed_frontend_with_service_and_ingress(stack: Stack, nc: Client, example: Callable[..., Obj]) -> None:
    fd, service, ingress = (example("06-federateddeployment-frontend.yaml", i) for i in range(3))
    [first] = await submit(nc, service)  # a companion before its FederatedDeployment
    assert first.phase == "Accepted", first.reasons
    assert "belongs to no FederatedDeployment" in first.status["status"]["conditions"][0]["message"]  # type: ignore[index]

    answers = await submit(nc, fd, ingress)
    assert [a.result for a in answers] == ["created", "created"], [a.reasons for a in answers]
    assert answers[0].phase == "Progressing"
    assert answers[1].status["status"]["followsFederatedDeployments"] == ["frontend-app"]  # type: ignore[index]

    async def available(generation: int) -> Obj:
        st = await fd_status(nc, "frontend-app")
        assert (st["phase"], st["observedGeneration"]) == ("Available", generation), st
        return st

    st = await eventually(lambda: available(1), timeout_seconds=20, message="frontend-app available")
    assert {c["name"]: (c["desired"], c["ready"]) for c in st["clusters"]} == {BEIJING: (2, 2), SHANGHAI: (1, 1)}
    assert (st["replicas"], st["readyReplicas"]) == (3, 3)

    async def companions_placed() -> dict[str, list[str]]:
        st = await fd_status(nc, "frontend-app")
        placed = {c["kind"]: sorted(c.get("clusters", [])) for c in st["companions"]}
        assert placed == {"Service": [BEIJING, SHANGHAI], "Ingress": [BEIJING, SHANGHAI]}, placed
        return placed

    await eventually(companions_placed, timeout_seconds=10, message="companions placed")
    conditions = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
    assert conditions["Available"] == ("True", "AllReplicasReady")

    deployments = await on_members(stack, "apps/v1", "Deployment", "frontend-app")
    assert {c: d["spec"]["replicas"] for c, d in deployments.items()} == {BEIJING: 2, SHANGHAI: 1}
    assert set(await on_members(stack, "v1", "Service", "frontend-service")) == {BEIJING, SHANGHAI}
    assert set(await on_members(stack, "networking.k8s.io/v1", "Ingress", "frontend-ingress")) == {BEIJING, SHANGHAI}

    async def available_event() -> bool:
        assert ("available", 1) in [(name, e["generation"]) for name, e in stack.events], stack.events
        return True

    await eventually(available_event, timeout_seconds=5, message="an available event")

    # Roll forward: one more replica in beijing.
    scaled = copy.deepcopy(fd)
    scaled["spec"]["template"]["spec"]["replicas"] = 4
    scaled["spec"]["placement"]["clusters"][0]["replicas"] = 3
    [answer] = await submit(nc, scaled)
    assert answer.result == "updated", answer.reasons
    st = await eventually(lambda: available(2), timeout_seconds=20, message="scaled and available")
    assert {c["name"]: (c["desired"], c["ready"]) for c in st["clusters"]} == {BEIJING: (3, 3), SHANGHAI: (1, 1)}
    deployments = await on_members(stack, "apps/v1", "Deployment", "frontend-app")
    assert {c: d["spec"]["replicas"] for c, d in deployments.items()} == {BEIJING: 3, SHANGHAI: 1}

    # A broken variant: counts that do not add up, named by field.
    broken = copy.deepcopy(scaled)
    broken["spec"]["placement"]["clusters"][1]["replicas"] = 5
    [rejected] = await submit(nc, broken)
    assert rejected.result == "rejected"
    assert any(r["field"].startswith("spec.") and "add up" in r["message"] for r in rejected.reasons), rejected.reasons

    # Delete: gone from every member, companions too.
    [gone] = await submit(nc, scaled, verb="delete")
    assert gone.result == "deleted", gone.reasons

    async def nowhere() -> bool:
        for api_version, kind, name in (
            ("apps/v1", "Deployment", "frontend-app"),
            ("v1", "Service", "frontend-service"),
            ("networking.k8s.io/v1", "Ingress", "frontend-ingress"),
        ):
            assert await on_members(stack, api_version, kind, name) == {}, f"{kind} still on members"
        return True

    await eventually(nowhere, timeout_seconds=20, message="removed from the members")


async def test_companions_follow_and_leave(stack: Stack, nc: Client, example: Callable[..., Obj]) -> None:
    """A ConfigMap the pods mount, applied after the FederatedDeployment, follows it to its
    clusters; a Service selecting other pods stays behind; deleting the ConfigMap withdraws it."""
    fd = example("06-federateddeployment-frontend.yaml", 0)
    pod = fd["spec"]["template"]["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "conf", "configMap": {"name": "frontend-conf"}}]
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frontend-conf"}, "data": {"a": "1"}}
    other = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "backend"},
        "spec": {"selector": {"app": "backend"}, "ports": [{"port": 80}]},
    }
    [created] = await submit(nc, fd)
    assert created.ok, created.reasons
    # Right after start-up the apps service may not have read every cluster the fleet published
    # yet; it then also warns (honestly) that they are not members, until the status settles.
    assert (
        "ConfigMap/frontend-conf is used by the pod template but was not applied with it"
        in created.status["status"]["warnings"]  # type: ignore[index]
    )
    answers = await submit(nc, config, other)
    assert [a.status["status"].get("followsFederatedDeployments") for a in answers] == [["frontend-app"], None]  # type: ignore[index]

    async def config_on(clusters: set[str]) -> bool:
        assert set(await on_members(stack, "v1", "ConfigMap", "frontend-conf")) == clusters
        return True

    await eventually(lambda: config_on({BEIJING, SHANGHAI}), timeout_seconds=20, message="config follows")
    assert await on_members(stack, "v1", "Service", "backend") == {}

    async def available() -> Obj:
        st = await fd_status(nc, "frontend-app")
        assert st["phase"] == "Available", st
        return st

    st = await eventually(available, timeout_seconds=20, message="available")
    assert "warnings" not in st
    [gone] = await submit(nc, config, verb="delete")
    assert gone.result == "deleted"
    await eventually(lambda: config_on(set()), timeout_seconds=20, message="config withdrawn")


async def test_a_cluster_going_down_degrades_it_with_an_event(
    stack: Stack, nc: Client, example: Callable[..., Obj]
) -> None:
    """shanghai goes down: its replica is lost, Karmada marks it not ready, the FederatedDeployment
    turns Degraded naming the cluster, and a ``degraded`` event says so."""
    fd = example("06-federateddeployment-frontend.yaml", 0)
    [created] = await submit(nc, fd)
    assert created.ok, created.reasons

    async def phase_is(phase: str) -> Obj:
        st = await fd_status(nc, "frontend-app")
        assert st["phase"] == phase, st
        return st

    await eventually(lambda: phase_is("Available"), timeout_seconds=20, message="available")
    faults.set_down(stack.sim.fleet, SHANGHAI)
    await eventually(lambda: phase_is("Degraded"), timeout_seconds=20, message="degraded")

    async def degraded_events() -> list[Obj]:
        found = [e for name, e in stack.events if name == "degraded"]
        assert found, stack.events
        return found

    degraded = await eventually(degraded_events, timeout_seconds=5, message="a degraded event")
    assert degraded[0]["federatedDeployment"] == {"namespace": "default", "name": "frontend-app"}
    assert "cluster-shanghai" in degraded[0]["message"]  # first its replica is lost, then the cluster

    async def shanghai_not_ready() -> bool:
        st = await phase_is("Degraded")
        failures = {c["name"]: c.get("failure") for c in st["clusters"]}
        assert failures == {BEIJING: None, SHANGHAI: "cluster not ready"}, st["clusters"]
        return True

    await eventually(shanghai_not_ready, timeout_seconds=20, message="shanghai not ready")
    assert len([name for name, _ in stack.events if name == "degraded"]) == 1  # still the same degradation

    # Back up, the cluster is no longer a failure; Karmada does not move the replica it failed
    # over back by itself, so the app stays Degraded with what each cluster really runs.
    faults.set_down(stack.sim.fleet, SHANGHAI, down=False)

    async def shanghai_back() -> bool:
        st = await fd_status(nc, "frontend-app")
        assert all("failure" not in c for c in st["clusters"]), st["clusters"]
        return True

    await eventually(shanghai_back, timeout_seconds=20, message="shanghai ready again")
