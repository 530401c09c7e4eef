"""The binding status controller: a new binding's first aggregation waits for its member Deployment's
first status instead of reflecting none; later changes are reflected at once."""

from __future__ import annotations

import asyncio
from typing import Any

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers import karmada_webhook, kube_conditions
from kurator_sim.controllers.clusters import ClusterStatusController
from kurator_sim.controllers.karmada_binding import BindingController
from kurator_sim.controllers.karmada_names import CLUSTERS, RESOURCE_BINDINGS, WORKS, execution_space
from kurator_sim.controllers.karmada_status import BindingStatusController, awaiting_status
from kurator_sim.fleet import Fleet
from shared.testing.eventually import eventually

DEPLOYMENTS = ("apps", "deployments")
MEMBER = "cluster-beijing"


async def ready_fleet() -> Fleet:
    fleet = Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))
    karmada_webhook.install(fleet.host)
    clusters_rt = fleet.host_registry.by_key(CLUSTERS)

    async def ready() -> bool:
        return kube_conditions.is_true(fleet.host.find(clusters_rt, None, MEMBER), "Ready")

    task = asyncio.create_task(ClusterStatusController(fleet=fleet).run())
    try:
        await eventually(ready, timeout_seconds=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return fleet


def propagated(fleet: Fleet) -> tuple[Any, ...]:
    """A Deployment template and its binding to one member, its Work applied there (no member controller runs)."""
    host = fleet.host
    template = host.create(
        fleet.host_registry.by_key(DEPLOYMENTS),
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}},
            },
        },
    )
    uid = template["metadata"]["uid"]
    resource = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web", "uid": uid}
    host.create(
        fleet.host_registry.by_key(RESOURCE_BINDINGS),
        "default",
        {
            "apiVersion": "work.karmada.io/v1alpha2",
            "kind": "ResourceBinding",
            "metadata": {"name": "web-deployment", "namespace": "default"},
            "spec": {"resource": resource, "replicas": 1, "clusters": [{"name": MEMBER, "replicas": 1}]},
        },
    )
    key = (RESOURCE_BINDINGS, "default", "web-deployment")
    BindingController(fleet=fleet).reconcile(key)
    return key


def test_only_a_member_deployment_without_a_status_posted_awaits_one() -> None:
    base = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": 2}}
    assert awaiting_status(base)
    assert awaiting_status({**base, "status": {}})
    assert not awaiting_status({**base, "status": {"observedGeneration": 1, "replicas": 1}})
    assert not awaiting_status({**base, "status": {"observedGeneration": 2}})
    assert not awaiting_status({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "generation": 1}})


async def test_no_status_is_aggregated_before_the_member_posts_the_deployments_first() -> None:
    fleet = await ready_fleet()
    key = propagated(fleet)
    member = fleet.members[MEMBER].store
    member_rt = member.registry.by_key(DEPLOYMENTS)
    copy = member.get(member_rt, "default", "web")
    assert "status" not in copy or not copy["status"].get("observedGeneration")
    controller = BindingStatusController(fleet=fleet)
    bindings = fleet.host_registry.by_key(RESOURCE_BINDINGS)
    works = fleet.host_registry.by_key(WORKS)
    binding_rv = fleet.host.get(bindings, "default", "web-deployment")["metadata"]["resourceVersion"]

    controller.reconcile(key)
    binding = fleet.host.get(bindings, "default", "web-deployment")
    assert binding["metadata"]["resourceVersion"] == binding_rv  # nothing written yet
    (work,) = fleet.host.iter_raw(works, execution_space(MEMBER))
    assert "manifestStatuses" not in (work.get("status") or {})

    # The member's controller posts the status of the generation it observed: now it is aggregated.
    status = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1}
    member.replace_status(member_rt, "default", "web", copy, status)
    controller.reconcile(key)
    binding = fleet.host.get(bindings, "default", "web-deployment")
    (item,) = binding["status"]["aggregatedStatus"]
    assert item["clusterName"] == MEMBER
    assert item["applied"] is True
    assert item["health"] == "Unhealthy"
    assert item["status"]["observedGeneration"] == 1
    assert kube_conditions.is_true(binding, "FullyApplied")

    # An update after that is reflected at once, before the member observes it: the binding
    # must not keep showing the old generation as it was.
    ready = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    copy = member.replace_status(member_rt, "default", "web", member.get(member_rt, "default", "web"), ready)
    controller.reconcile(key)
    binding = fleet.host.get(bindings, "default", "web-deployment")
    assert binding["status"]["aggregatedStatus"][0]["health"] == "Healthy"
    updated = member.get(member_rt, "default", "web")
    updated["spec"]["replicas"] = 2
    updated = member.update(member_rt, "default", "web", updated)
    assert updated["metadata"]["generation"] == 2
    controller.reconcile(key)
    binding = fleet.host.get(bindings, "default", "web-deployment")
    (item,) = binding["status"]["aggregatedStatus"]
    assert item["health"] == "Unhealthy"
    assert item["status"]["generation"] == 2
    assert item["status"]["observedGeneration"] == 1


async def test_a_member_that_never_posts_a_status_holds_the_first_aggregation_only_so_long() -> None:
    """No member Deployment controller runs here: after ``retry_seconds`` the binding is
    aggregated all the same, with what the member shows."""
    fleet = await ready_fleet()
    key = propagated(fleet)
    bindings = fleet.host_registry.by_key(RESOURCE_BINDINGS)
    controller = BindingStatusController(fleet=fleet, retry_seconds=2.0)  # 20 ms at 100x
    task = asyncio.create_task(controller.run())

    def shown() -> list[Any] | None:
        binding = fleet.host.get(bindings, "default", "web-deployment")
        return (binding.get("status") or {}).get("aggregatedStatus")

    async def aggregated() -> list[Any] | None:
        return shown()

    try:
        await asyncio.sleep(0)
        controller.reconcile(key)
        assert not shown()  # waiting for the member's first status
        (item,) = await eventually(aggregated, timeout_seconds=5)
        assert item["clusterName"] == MEMBER
        assert item["applied"] is True
        assert not controller._waiting
        assert not controller._waited_out
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
