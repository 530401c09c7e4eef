"""The fleet service on the real bus against the simulated Karmada (with its controllers).

Intents go in with ``shared.bus.client.submit``; the answers must be ``created`` with the write
path's status, and the objects must be in the simulator's Karmada store. The seed's two policies
then bind their workloads the way Karmada would (scheduling itself is the placement engine's
business; here only that the binding lands on the policy's clusters with every replica).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from kurator_fleet import extensions
from kurator_sim import app, testing
from kurator_sim.fleet import Fleet
from kurator_sim.settings import SimSettings
from shared.bus import client
from shared.contracts import kinds, subjects
from shared.testing import services
from shared.testing.eventually import eventually

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None


def address(doc: dict[str, Any]) -> subjects.ObjectAddress:
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    namespace = (doc["metadata"].get("namespace") or "default") if info.namespaced else None
    return subjects.ObjectAddress("fleet", info.token, namespace, doc["metadata"]["name"])


def frontend_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "frontend", "namespace": "default"},
        "spec": {
            "replicas": 10,
            "template": {
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m"}}}]
                }
            },
        },
    }


def find(fleet: Fleet, key: tuple[str, str], namespace: str | None, name: str) -> dict[str, Any] | None:
    return fleet.host.find(fleet.host_registry.by_key(key), namespace, name)


@pytest.fixture
async def stack(nats_url: str, nc: Client, tmp_path: Path) -> AsyncIterator[app.Running]:
    # Depends on nc: its set-up wipes the kurator streams, which the service declares.
    kubeconfig = tmp_path / "kubeconfig"
    settings = SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=CRDS)
    async with (
        app.running(settings) as sim,
        services.running("fleet", nats_url=nats_url, extensions=extensions.build, kubeconfig=str(kubeconfig)),
    ):
        yield sim


async def test_seed_policies_and_templates_through_the_bus(stack: app.Running, nc: Client, kit: Any) -> None:
    docs = [
        kit.example("01-propagationpolicy-nginx.yaml"),
        kit.example("02-clusterpropagationpolicy-frontend.yaml"),
        kit.example("09-deployment-kurator-controller-manager.yaml"),
        frontend_deployment(),
    ]
    answers = await client.submit(nc, [(address(d), d) for d in docs], timeout_seconds=30)
    assert [(a.result, a.phase) for a in answers] == [("created", "Applied")] * 4, [a.reasons for a in answers]
    cpp_status = answers[1].status
    assert cpp_status is not None
    reasons = {c["type"]: c["reason"] for c in cpp_status["status"]["conditions"]}
    assert reasons["ShorthandConverted"] == "AggregatedPreferenceDropped"

    host = stack.fleet
    assert find(host, ("policy.karmada.io", "propagationpolicies"), "default", "nginx-propagation") is not None
    cpp = find(host, ("policy.karmada.io", "clusterpropagationpolicies"), None, "frontend-app")
    assert cpp is not None
    assert cpp["spec"]["placement"]["replicaScheduling"]["replicaSchedulingType"] == "Divided"
    manager = find(host, ("apps", "deployments"), "default", "kurator-controller-manager")
    assert manager is not None
    assert manager["spec"]["selector"] == {"matchLabels": {"app": "kurator-controller-manager"}}

    async def frontend_scheduled() -> dict[str, int]:
        binding = find(host, ("work.karmada.io", "resourcebindings"), "default", "frontend-deployment")
        assert binding is not None, "no binding yet"
        placed = {c["name"]: c.get("replicas", 0) for c in binding["spec"].get("clusters") or ()}
        assert placed, "not scheduled yet"
        return placed

    placed = await eventually(frontend_scheduled, timeout_seconds=20, message="frontend scheduled")
    assert set(placed) <= {"cluster-shanghai", "cluster-hangzhou"}
    assert sum(placed.values()) == 10

    gone = await client.submit(nc, [(address(docs[1]), docs[1])], verb="delete", timeout_seconds=30)
    assert [a.result for a in gone] == ["deleted"]
    assert find(host, ("policy.karmada.io", "clusterpropagationpolicies"), None, "frontend-app") is None


async def test_a_propagation_through_the_bus(stack: app.Running, nc: Client) -> None:
    doc = {
        "apiVersion": "fleet.kurator.dev/v1alpha1",
        "kind": "Propagation",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": "shop", "name": "web"},
            "templates": [{**frontend_deployment(), "metadata": {"name": "web"}}],
            "placement": {
                "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
                "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
            },
        },
    }
    [answer] = await client.submit(nc, [(address(doc), doc)], timeout_seconds=30)
    assert (answer.result, answer.phase) == ("created", "Applied"), answer.reasons
    assert answer.status is not None
    assert [w["kind"] for w in answer.status["status"]["written"]] == ["Deployment", "PropagationPolicy"]
    host = stack.fleet
    assert find(host, ("apps", "deployments"), "shop", "web") is not None

    async def duplicated() -> bool:
        binding = find(host, ("work.karmada.io", "resourcebindings"), "shop", "web-deployment")
        assert binding is not None, "no binding yet"
        assert binding["spec"].get("clusters"), "not scheduled yet"
        assert {c["name"] for c in binding["spec"]["clusters"]} == {"cluster-beijing", "cluster-shanghai"}
        return True

    await eventually(duplicated, timeout_seconds=20, message="web scheduled")
    [gone] = await client.submit(nc, [(address(doc), doc)], verb="delete", timeout_seconds=30)
    assert gone.result == "deleted"
    assert find(host, ("apps", "deployments"), "shop", "web") is None
    assert find(host, ("policy.karmada.io", "propagationpolicies"), "shop", "web") is None


async def test_karmada_rejection_reaches_the_publisher(stack: app.Running, nc: Client, kit: Any) -> None:
    if CRDS is None:
        pytest.skip("../shared/crds is not present")
    doc = kit.example("01-propagationpolicy-nginx.yaml")
    doc["spec"]["suspension"] = {"dispatchingOnClusters": {"clusterNames": "cluster-beijing"}}
    [answer] = await client.submit(nc, [(address(doc), doc)], timeout_seconds=30)
    assert answer.result == "rejected"
    assert [r["field"] for r in answer.reasons] == ["spec.suspension.dispatchingOnClusters.clusterNames"]


async def test_without_kubernetes_intents_are_only_accepted(nats_url: str, nc: Client, kit: Any) -> None:
    async with services.running("fleet", nats_url=nats_url, extensions=extensions.build):
        doc = kit.example("01-propagationpolicy-nginx.yaml")
        [answer] = await client.submit(nc, [(address(doc), doc)], timeout_seconds=30)
    assert (answer.result, answer.phase) == ("created", "Accepted")
