"""Propagation end to end: bindings become member objects, status comes back, failover, deletion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from kurator_sim import resources, testing, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers.manager import ControllerManager, ControllerSettings
from kurator_sim.fleet import Fleet
from shared.testing.eventually import eventually

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEED_CLUSTERS = ("cluster-beijing", "cluster-guangzhou", "cluster-shanghai")
KARMADA_CRDS = testing.SHARED_CRDS / "karmada"


def assert_valid(obj: dict[str, Any], crd_file: str) -> None:
    """``obj`` conforms to the storage version's schema in Karmada's CRD."""
    path = KARMADA_CRDS / crd_file
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    crd = yaml.safe_load(path.read_text())
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    jsonschema.validate(obj, version["schema"]["openAPIV3Schema"])


@asynccontextmanager
async def simulated(settings: ControllerSettings | None = None) -> AsyncIterator[Fleet]:
    fleet = Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))
    manager = ControllerManager(fleet, fleet.clock, settings)
    task = asyncio.create_task(manager.run())
    try:
        yield fleet
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert not manager.restarts, manager.restarts


def rt(fleet: Fleet, group: str, plural: str, *, member: str | None = None) -> resources.ResourceType:
    registry = fleet.member_registry if member else fleet.host_registry
    return registry.by_key((group, plural))


def host_deployments(fleet: Fleet) -> resources.ResourceType:
    return rt(fleet, "apps", "deployments")


def member_deployment(fleet: Fleet, cluster: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
    store = fleet.members[cluster].store
    return store.find(store.registry.by_key(("apps", "deployments")), namespace, name)


def binding(fleet: Fleet, name: str, namespace: str = "default") -> dict[str, Any] | None:
    return fleet.host.find(rt(fleet, "work.karmada.io", "resourcebindings"), namespace, name)


def deployment(name: str, replicas: int, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": name, "image": "nginx:1.25", "resources": {"requests": {"cpu": "100m"}}}]
                },
            },
        },
    }


def divided(name: str, weights: dict[str, int], namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            "placement": {
                "clusterAffinity": {"clusterNames": sorted(weights)},
                "replicaScheduling": {
                    "replicaSchedulingType": "Divided",
                    "replicaDivisionPreference": "Weighted",
                    "weightPreference": {
                        "staticWeightList": [
                            {"targetCluster": {"clusterNames": [c]}, "weight": w} for c, w in weights.items()
                        ]
                    },
                },
            },
        },
    }


def create_policy(fleet: Fleet, obj: dict[str, Any], namespace: str = "default") -> None:
    fleet.host.create(rt(fleet, "policy.karmada.io", "propagationpolicies"), namespace, obj)


async def wait_ready(
    fleet: Fleet, cluster: str, name: str, replicas: int, namespace: str = "default"
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        obj = member_deployment(fleet, cluster, name, namespace)
        assert obj is not None, f"{name} not in {cluster}"
        assert obj["spec"]["replicas"] == replicas
        assert (obj.get("status") or {}).get("readyReplicas") == replicas, obj.get("status")
        return obj

    return await eventually(probe, timeout_seconds=10)


async def test_seed_nginx_is_ready_in_three_members_with_status_back_in_the_host() -> None:
    async with simulated() as fleet:
        fleet.host.create(
            rt(fleet, "", "namespaces"), None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
        )
        pp = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text())
        create_policy(fleet, pp, "shop")
        template = fleet.host.create(host_deployments(fleet), "shop", deployment("nginx", 3, "shop"))
        copies = {c: await wait_ready(fleet, c, "nginx", 3, "shop") for c in SEED_CLUSTERS}
        for name in ("cluster-hangzhou", "cluster-suzhou-staging", "edge-site-hangzhou"):
            assert member_deployment(fleet, name, "nginx", "shop") is None

        rb = binding(fleet, "nginx-deployment", "shop")
        assert rb is not None
        copy = copies["cluster-beijing"]
        labels, annotations = copy["metadata"]["labels"], copy["metadata"]["annotations"]
        assert labels["karmada.io/managed"] == "true"
        assert labels["app"] == "nginx"
        assert (
            labels["resourcebinding.karmada.io/permanent-id"]
            == rb["metadata"]["labels"]["resourcebinding.karmada.io/permanent-id"]
        )
        assert labels["propagationpolicy.karmada.io/permanent-id"]
        assert labels["work.karmada.io/permanent-id"]
        assert annotations["resourcebinding.karmada.io/name"] == "nginx-deployment"
        assert annotations["resourcebinding.karmada.io/namespace"] == "shop"
        assert annotations["propagationpolicy.karmada.io/name"] == "nginx-propagation"
        assert annotations["resourcetemplate.karmada.io/uid"] == template["metadata"]["uid"]
        assert annotations["resourcetemplate.karmada.io/generation"] == "1"
        assert annotations["work.karmada.io/namespace"] == "karmada-es-cluster-beijing"
        assert copy["spec"]["template"] == template["spec"]["template"]
        # Karmada created the namespace in the member.
        member = fleet.members["cluster-beijing"].store
        assert member.find(member.registry.by_key(("", "namespaces")), None, "shop") is not None
        work = fleet.host.get(
            rt(fleet, "work.karmada.io", "works"), "karmada-es-cluster-beijing", annotations["work.karmada.io/name"]
        )
        applied = next(c for c in work["status"]["conditions"] if c["type"] == "Applied")
        assert (applied["status"], applied["reason"]) == ("True", "AppliedSuccessful")
        assert work["spec"]["workload"]["manifests"][0]["metadata"]["name"] == "nginx"

        async def aggregated() -> dict[str, Any]:
            rb = binding(fleet, "nginx-deployment", "shop")
            assert rb is not None
            items = rb["status"].get("aggregatedStatus") or []
            assert [i["clusterName"] for i in items] == list(SEED_CLUSTERS)
            assert all(i["applied"] and i["health"] == "Healthy" for i in items), items
            assert all(i["status"]["readyReplicas"] == 3 for i in items)
            return rb

        rb = await eventually(aggregated, timeout_seconds=10)
        fully = next(c for c in rb["status"]["conditions"] if c["type"] == "FullyApplied")
        assert (fully["status"], fully["reason"], fully["message"]) == (
            "True",
            "FullyAppliedSuccess",
            "All works have been successfully applied",
        )
        assert rb["status"]["aggregatedStatus"][0]["status"] == {
            "replicas": 3,
            "updatedReplicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "observedGeneration": 1,
            "generation": 1,
            "resourceTemplateGeneration": 1,
        }

        async def template_status() -> dict[str, Any]:
            status = fleet.host.get(host_deployments(fleet), "shop", "nginx").get("status") or {}
            assert status.get("readyReplicas") == 9, status
            return status

        assert_valid(rb, "work.karmada.io_resourcebindings.yaml")
        assert_valid(work, "work.karmada.io_works.yaml")
        status = await eventually(template_status)
        assert status == {
            "observedGeneration": 1,
            "replicas": 9,
            "updatedReplicas": 9,
            "readyReplicas": 9,
            "availableReplicas": 9,
        }

        # A template change reaches every member.
        changed = fleet.host.get(host_deployments(fleet), "shop", "nginx")
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
        fleet.host.update(host_deployments(fleet), "shop", "nginx", changed)

        async def rolled_out() -> bool:
            for cluster in SEED_CLUSTERS:
                obj = member_deployment(fleet, cluster, "nginx", "shop")
                assert obj is not None
                assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
                assert obj["metadata"]["annotations"]["resourcetemplate.karmada.io/generation"] == "2"
            return True

        await eventually(rolled_out)


async def test_divided_static_weights_split_the_replicas_in_the_members() -> None:
    async with simulated() as fleet:
        create_policy(fleet, divided("web", {"cluster-beijing": 2, "cluster-shanghai": 1}))
        fleet.host.create(host_deployments(fleet), "default", deployment("web", 3))
        await wait_ready(fleet, "cluster-beijing", "web", 2)
        await wait_ready(fleet, "cluster-shanghai", "web", 1)

        async def summed() -> bool:
            status = fleet.host.get(host_deployments(fleet), "default", "web").get("status") or {}
            assert status.get("readyReplicas") == 3, status
            return True

        await eventually(summed)


async def test_failover_moves_replicas_off_a_cluster_that_goes_down() -> None:
    async with simulated() as fleet:
        create_policy(fleet, divided("api", dict.fromkeys(SEED_CLUSTERS, 1)))
        fleet.host.create(host_deployments(fleet), "default", deployment("api", 6))
        for cluster in SEED_CLUSTERS:
            await wait_ready(fleet, cluster, "api", 2)

        fleet.members["cluster-beijing"].faults.down = True

        async def evicted() -> dict[str, Any]:
            rb = binding(fleet, "api-deployment")
            assert rb is not None
            assert rb["spec"].get("clusters") == [
                {"name": "cluster-guangzhou", "replicas": 3},
                {"name": "cluster-shanghai", "replicas": 3},
            ]
            return rb

        rb = await eventually(evicted, timeout_seconds=15)
        assert_valid(rb, "work.karmada.io_resourcebindings.yaml")
        tasks = rb["spec"].get("gracefulEvictionTasks") or []
        if tasks:  # the task may already have ended if the move was quick
            assert tasks[0]["fromCluster"] == "cluster-beijing"
            assert (tasks[0]["reason"], tasks[0]["producer"]) == ("TaintUntolerated", "TaintManager")
        await wait_ready(fleet, "cluster-shanghai", "api", 3)
        await wait_ready(fleet, "cluster-guangzhou", "api", 3)

        async def eviction_done() -> bool:
            rb = binding(fleet, "api-deployment")
            assert rb is not None
            assert not rb["spec"].get("gracefulEvictionTasks")
            return True

        await eventually(eviction_done, timeout_seconds=15)
        # The stale copy goes once beijing is reachable and ready again.
        assert member_deployment(fleet, "cluster-beijing", "api") is not None
        fleet.members["cluster-beijing"].faults.down = False

        async def cleaned() -> bool:
            assert member_deployment(fleet, "cluster-beijing", "api") is None
            return True

        await eventually(cleaned, timeout_seconds=15)


async def test_duplicated_failover_drops_the_failed_cluster() -> None:
    async with simulated() as fleet:
        pp = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text())
        create_policy(fleet, pp)
        fleet.host.create(host_deployments(fleet), "default", deployment("nginx", 2))
        for cluster in SEED_CLUSTERS:
            await wait_ready(fleet, cluster, "nginx", 2)
        fleet.members["cluster-shanghai"].faults.partitioned = True

        async def moved() -> bool:
            rb = binding(fleet, "nginx-deployment")
            assert rb is not None
            assert {c["name"] for c in rb["spec"].get("clusters") or ()} == {"cluster-beijing", "cluster-guangzhou"}
            return True

        await eventually(moved, timeout_seconds=15)


async def test_deleting_the_template_removes_binding_works_and_member_copies() -> None:
    async with simulated() as fleet:
        pp = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text())
        create_policy(fleet, pp)
        fleet.host.create(host_deployments(fleet), "default", deployment("nginx", 1))
        for cluster in SEED_CLUSTERS:
            await wait_ready(fleet, cluster, "nginx", 1)
        fleet.host.delete(host_deployments(fleet), "default", "nginx")
        works = rt(fleet, "work.karmada.io", "works")

        async def gone() -> bool:
            assert binding(fleet, "nginx-deployment") is None
            for cluster in SEED_CLUSTERS:
                assert member_deployment(fleet, cluster, "nginx") is None
                assert not list(fleet.host.iter_raw(works, f"karmada-es-{cluster}"))
            return True

        await eventually(gone, timeout_seconds=10)


async def test_an_unreachable_member_gets_its_copy_when_it_is_back() -> None:
    # A long failure threshold keeps the partitioned cluster Ready, so nothing is evicted.
    async with simulated(ControllerSettings(cluster_failure_threshold=10_000)) as fleet:
        clusters = rt(fleet, "cluster.karmada.io", "clusters")

        async def joined() -> bool:
            cluster = fleet.host.find(clusters, None, "cluster-guangzhou")
            assert cluster is not None
            assert not (cluster.get("spec") or {}).get("taints")
            return True

        await eventually(joined)
        fleet.members["cluster-guangzhou"].faults.partitioned = True
        pp = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text())
        create_policy(fleet, pp)
        fleet.host.create(host_deployments(fleet), "default", deployment("nginx", 1))
        await wait_ready(fleet, "cluster-beijing", "nginx", 1)
        await wait_ready(fleet, "cluster-shanghai", "nginx", 1)
        assert member_deployment(fleet, "cluster-guangzhou", "nginx") is None

        async def partly_applied() -> bool:
            rb = binding(fleet, "nginx-deployment")
            assert rb is not None
            fully = next(c for c in rb["status"]["conditions"] if c["type"] == "FullyApplied")
            assert fully["status"] == "False"
            return True

        await eventually(partly_applied)
        fleet.members["cluster-guangzhou"].faults.partitioned = False
        await wait_ready(fleet, "cluster-guangzhou", "nginx", 1)


async def test_an_object_karmada_does_not_manage_is_not_overwritten() -> None:
    async with simulated() as fleet:
        member = fleet.members["cluster-beijing"].store
        member.create(member.registry.by_key(("apps", "deployments")), "default", deployment("nginx", 7))
        pp = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text())
        create_policy(fleet, pp)
        fleet.host.create(host_deployments(fleet), "default", deployment("nginx", 1))
        await wait_ready(fleet, "cluster-shanghai", "nginx", 1)

        async def refused() -> dict[str, Any]:
            rb = binding(fleet, "nginx-deployment")
            assert rb is not None
            items: list[dict[str, Any]] = rb["status"].get("aggregatedStatus") or []
            item = next(i for i in items if i["clusterName"] == "cluster-beijing")
            assert item["applied"] is False
            return item

        item = await eventually(refused)
        assert "already exists in the cluster cluster-beijing" in item["appliedMessage"]
        assert item["health"] == "Unknown"
        mine = member_deployment(fleet, "cluster-beijing", "nginx")
        assert mine is not None
        assert mine["spec"]["replicas"] == 7


async def test_a_policy_change_moves_the_workload() -> None:
    async with simulated() as fleet:
        policy = divided("web", {"cluster-beijing": 1, "cluster-shanghai": 1})
        create_policy(fleet, policy)
        fleet.host.create(host_deployments(fleet), "default", deployment("web", 4))
        await wait_ready(fleet, "cluster-beijing", "web", 2)
        await wait_ready(fleet, "cluster-shanghai", "web", 2)
        pps = rt(fleet, "policy.karmada.io", "propagationpolicies")
        current = fleet.host.get(pps, "default", "web")
        current["spec"]["placement"]["clusterAffinity"]["clusterNames"] = ["cluster-hangzhou"]
        current["spec"]["placement"]["replicaScheduling"]["weightPreference"] = None
        fleet.host.update(pps, "default", "web", current)
        await wait_ready(fleet, "cluster-hangzhou", "web", 4)

        async def moved() -> bool:
            assert member_deployment(fleet, "cluster-beijing", "web") is None
            assert member_deployment(fleet, "cluster-shanghai", "web") is None
            return True

        await eventually(moved)


async def test_an_unjoined_cluster_is_drained_and_removed() -> None:
    async with simulated() as fleet:
        pp = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text())
        create_policy(fleet, pp)
        fleet.host.create(host_deployments(fleet), "default", deployment("nginx", 1))
        for cluster in SEED_CLUSTERS:
            await wait_ready(fleet, cluster, "nginx", 1)
        clusters = rt(fleet, "cluster.karmada.io", "clusters")
        fleet.host.delete(clusters, None, "cluster-guangzhou")

        async def removed() -> bool:
            assert fleet.host.find(clusters, None, "cluster-guangzhou") is None
            assert fleet.host.find(rt(fleet, "", "namespaces"), None, "karmada-es-cluster-guangzhou") is None
            rb = binding(fleet, "nginx-deployment")
            assert rb is not None
            assert {c["name"] for c in rb["spec"]["clusters"]} == {"cluster-beijing", "cluster-shanghai"}
            return True

        await eventually(removed, timeout_seconds=10)
