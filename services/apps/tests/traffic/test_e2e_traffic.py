"""Istio traffic end to end: intents in, the mesh's primary (the simulator's cluster-beijing,
labelled ``istio.kurator.dev/primary``) holds the config, read back through Karmada's proxy.

The fleet service runs too: its cluster statuses are where the apps service learns the
member clusters, their labels and readiness.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from kurator_apps.adapters.mesh import MeshClusters
from kurator_apps.traffic import derive, report, service
from kurator_apps.traffic.reconciler import GENERATION_ANNOTATION
from kurator_fleet import extensions as fleet_extensions
from kurator_sim import app, faults, testing
from kurator_sim.settings import SimSettings
from shared.bus import client, reader
from shared.contracts import cloudevents, subjects
from shared.k8s import connection
from shared.testing import services
from shared.testing.eventually import eventually

pytestmark = pytest.mark.slow

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
PRIMARY = "cluster-beijing"
Obj = dict[str, Any]


class Stack:
    def __init__(self, sim: app.Running, mesh: MeshClusters) -> None:
        self.sim = sim
        self.mesh = mesh

    async def on_primary(self, kind: str, name: str) -> Obj | None:
        return await self.mesh.find(PRIMARY, kind, namespace="default", name=name)


@pytest.fixture
async def stack(nats_url: str, nc: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    kubeconfig = tmp_path / "kubeconfig"
    settings = SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=CRDS)
    async with (
        app.running(settings) as sim,
        services.running(
            "fleet", nats_url=nats_url, extensions=fleet_extensions.build, kubeconfig=str(kubeconfig), lease_seconds=2
        ),
        services.running(
            "apps", nats_url=nats_url, extensions=service.build, kubeconfig=str(kubeconfig), lease_seconds=2
        ),
    ):
        api = await connection.api_client(kubeconfig)
        mesh = MeshClusters(api)
        try:
            yield Stack(sim, mesh)
        finally:
            await mesh.close()
            await api.close()


def _address(name: str, kind: str = "virtualservice") -> subjects.ObjectAddress:
    return subjects.ObjectAddress("apps", kind, "default", name)


async def _send(nc: Client, doc: Obj, *, verb: str = cloudevents.APPLY) -> client.Answer:
    kind = "virtualservice" if doc["kind"] == "VirtualService" else "destinationrule"
    [answer] = await client.submit(nc, [(_address(doc["metadata"]["name"], kind), doc)], verb=verb, timeout_seconds=30)
    return answer


async def _status(nc: Client, name: str) -> Obj:
    found = await reader.last(nc.jetstream(), subjects.status(_address(name)))
    assert found is not None
    st: Obj = found.document["status"]
    return st


def _weights(vs: Obj) -> list[tuple[str, int]]:
    return [(r["destination"]["subset"], r["weight"]) for r in vs["spec"]["http"][0]["route"]]


async def test_seed_virtual_service_on_the_primary(
    stack: Stack, nc: Client, seed_vs: Obj, crd_causes: Callable[[Obj], list[str]]
) -> None:
    """The seed's 50/30/20 lands on the primary with the derived DestinationRule; a weight
    change follows; a broken variant is rejected on its field; delete removes both."""
    seed_vs["metadata"]["namespace"] = "default"
    answer = await _send(nc, seed_vs)
    assert answer.ok, answer.reasons
    assert answer.status is not None
    # The first answer, right after start-up: the apps service judges the subsets only once it
    # has read the clusters' statuses the fleet service, starting too, publishes one by one.
    st = answer.status["status"]
    assert st["phase"] == report.APPLIED, st
    assert st["primaries"] == [{"cluster": PRIMARY, "ready": True, "generation": 1, "upToDate": True}]
    assert [(s["subset"], s["cluster"], s["ok"]) for s in st["subsets"]] == [
        ("beijing", "cluster-beijing", True),
        ("shanghai", "cluster-shanghai", True),
        ("guangzhou", "cluster-guangzhou", True),
    ]
    assert st["destinationRules"] == [{"name": "user-service", "host": "user-service", "derived": True}]

    vs = await stack.on_primary("VirtualService", "user-service")
    assert vs is not None
    assert _weights(vs) == [("beijing", 50), ("shanghai", 30), ("guangzhou", 20)]
    assert vs["metadata"]["annotations"][GENERATION_ANNOTATION] == "1"
    dr = await stack.on_primary("DestinationRule", "user-service")
    assert dr is not None
    assert dr["metadata"]["annotations"][derive.OWNER_ANNOTATION] == "user-service"
    assert [(s["name"], s["labels"]) for s in dr["spec"]["subsets"]] == [
        (name, {derive.CLUSTER_LABEL: f"cluster-{name}"}) for name in ("beijing", "shanghai", "guangzhou")
    ]
    for written in (vs, dr):
        mine = {k: written[k] for k in ("apiVersion", "kind", "spec")}
        mine["metadata"] = {k: written["metadata"][k] for k in ("name", "namespace", "annotations")}
        assert crd_causes(mine) == []
    for other in ("cluster-shanghai", "cluster-guangzhou"):  # remotes hold no config
        assert await stack.mesh.find(other, "VirtualService", namespace="default", name="user-service") is None

    changed = copy.deepcopy(seed_vs)
    for route, weight in zip(changed["spec"]["http"][0]["route"], (2, 1, 1), strict=True):
        route["weight"] = weight  # normalised to 50/25/25
    answer = await _send(nc, changed)
    assert answer.result == "updated", answer.reasons
    vs = await stack.on_primary("VirtualService", "user-service")
    assert vs is not None
    assert _weights(vs) == [("beijing", 50), ("shanghai", 25), ("guangzhou", 25)]
    assert vs["metadata"]["annotations"][GENERATION_ANNOTATION] == "2"

    broken = copy.deepcopy(seed_vs)
    broken["spec"]["http"][0]["route"][1]["destination"]["subset"] = "Shang_Hai"
    answer = await _send(nc, broken)
    assert answer.result == "rejected"
    fields = {r["field"] for r in answer.reasons}
    assert "spec.http[0].route[1].destination.subset" in fields, answer.reasons
    vs = await stack.on_primary("VirtualService", "user-service")
    assert vs is not None
    assert _weights(vs)[1] == ("shanghai", 25)

    answer = await _send(nc, seed_vs, verb=cloudevents.DELETE)
    assert answer.ok, answer.reasons
    assert await stack.on_primary("VirtualService", "user-service") is None
    assert await stack.on_primary("DestinationRule", "user-service") is None


async def test_status_follows_cluster_readiness_and_user_rules(stack: Stack, nc: Client, seed_vs: Obj) -> None:
    """guangzhou going down makes the status say so, and coming back clears it; a user's
    DestinationRule replaces the derived one and is checked (a missing subset is named)."""
    seed_vs["metadata"]["namespace"] = "default"
    assert (await _send(nc, seed_vs)).ok

    async def applied() -> Obj:
        st = await _status(nc, "user-service")
        assert st["phase"] == report.APPLIED, st["phase"]
        return st

    # The apps service learns the clusters from the fleet's statuses as they come; until all
    # have, a subset may honestly be reported as unknown. Start from the settled state.
    await eventually(applied, timeout_seconds=15, message="every subset's cluster known and ready")
    faults.set_down(stack.sim.fleet, "cluster-guangzhou")

    async def degraded() -> Obj:
        st = await _status(nc, "user-service")
        assert st["phase"] == report.DEGRADED, st["phase"]
        return st

    st = await eventually(degraded, timeout_seconds=15, message="guangzhou down in the status")
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert "subset guangzhou: cluster cluster-guangzhou is not ready" in ready["message"]
    faults.set_down(stack.sim.fleet, "cluster-guangzhou", down=False)

    await eventually(applied, timeout_seconds=15, message="guangzhou back in the status")

    rule: Obj = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "user-service-rule", "namespace": "default"},
        "spec": {
            "host": "user-service",
            "subsets": [
                {"name": n, "labels": {derive.CLUSTER_LABEL: f"cluster-{n}"}}
                for n in ("beijing", "shanghai", "guangzhou")
            ],
        },
    }
    answer = await _send(nc, rule)
    assert answer.ok, answer.reasons
    assert answer.status is not None
    assert answer.status["status"]["phase"] == report.APPLIED
    assert await stack.on_primary("DestinationRule", "user-service-rule") is not None
    # The derived rule gives way to the user's.
    assert await stack.on_primary("DestinationRule", "user-service") is None
    st = await _status(nc, "user-service")
    assert st["destinationRules"] == [{"name": "user-service-rule", "host": "user-service", "derived": False}]

    rule["spec"]["subsets"] = rule["spec"]["subsets"][:2]  # guangzhou dropped: its traffic would 503
    assert (await _send(nc, rule)).ok
    st = await _status(nc, "user-service")
    assert st["phase"] == report.DEGRADED
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert "subset 'guangzhou' is not defined by DestinationRule 'user-service-rule'" in ready["message"]
    seed_vs["spec"]["http"][0]["route"][2]["weight"] = 25  # applied again (changed), it is rejected
    answer = await _send(nc, seed_vs)
    assert not answer.ok  # rejected; the reason's code is NotFound (Envoy's 503 NR), which the client names
    assert [r["field"] for r in answer.reasons] == ["spec.http[0].route[2].destination.subset"]


async def _primary_ready(nc: Client, ready: bool) -> None:
    async def reported() -> bool:
        found = await reader.last(
            nc.jetstream(), subjects.status(subjects.ObjectAddress("fleet", "cluster", None, PRIMARY))
        )
        assert found is not None
        assert found.document["status"]["ready"] is ready
        return True

    await eventually(reported, timeout_seconds=15, message=f"{PRIMARY} ready={ready}")


async def test_a_primary_that_is_down_catches_up_when_it_is_back(stack: Stack, nc: Client, seed_vs: Obj) -> None:
    """Applied while the primary is down: Pending, then written when it is back. Deleted while
    it is down: removed from it when it is back."""
    seed_vs["metadata"]["namespace"] = "default"
    faults.set_down(stack.sim.fleet, PRIMARY)
    await _primary_ready(nc, False)
    answer = await _send(nc, seed_vs)
    assert answer.status is not None
    st = answer.status["status"]
    assert st["phase"] == report.PENDING
    assert st["primaries"][0]["ready"] is False
    assert "not ready" in st["primaries"][0]["message"]

    faults.set_down(stack.sim.fleet, PRIMARY, down=False)
    await eventually(lambda: _phase_is(nc, report.APPLIED), timeout_seconds=15, message="written when back")
    assert await stack.on_primary("VirtualService", "user-service") is not None

    faults.set_down(stack.sim.fleet, PRIMARY)
    await _primary_ready(nc, False)
    assert (await _send(nc, seed_vs, verb=cloudevents.DELETE)).ok
    faults.set_down(stack.sim.fleet, PRIMARY, down=False)

    async def removed() -> bool:
        assert await stack.on_primary("VirtualService", "user-service") is None
        assert await stack.on_primary("DestinationRule", "user-service") is None
        return True

    await eventually(removed, timeout_seconds=15, message="removed when back")


async def _phase_is(nc: Client, phase: str) -> bool:
    st = await _status(nc, "user-service")
    assert st["phase"] == phase, st["phase"]
    return True
