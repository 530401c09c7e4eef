"""Fidelity through the real Python client, kubernetes_asyncio, unchanged: typed APIs,
CustomObjectsApi, the dynamic client and watches, against the host and a member."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic import DynamicClient

from kurator_sim import testing

HAVE_CRDS = testing.SHARED_CRDS.is_dir()


def volcano_job(name: str, min_available: Any = 1) -> dict[str, Any]:
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "minAvailable": min_available,
            "schedulerName": "volcano",
            "tasks": [
                {"name": "ps", "replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}
            ],
        },
    }


def propagation_policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "labels": {"team": "web"}},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
            "placement": {
                "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
                "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
            },
        },
    }


def nginx() -> client.V1Deployment:
    labels = {"app": "nginx"}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="nginx", labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="nginx", image="nginx:1.25")]),
            ),
        ),
    )


async def test_core_v1_namespaces_and_configmaps(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    ns = await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    assert ns.metadata.uid
    names = [n.metadata.name for n in (await core.list_namespace()).items]
    assert "team-a" in names

    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"k": "v"}), data={"a": "1"})
    created = await core.create_namespaced_config_map("team-a", cm)
    assert created.metadata.resource_version
    read = await core.read_namespaced_config_map("settings", "team-a")
    assert read.data == {"a": "1"}
    patched = await core.patch_namespaced_config_map("settings", "team-a", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    read.data = {"c": "3"}
    with pytest.raises(ApiException) as stale:
        await core.replace_namespaced_config_map("settings", "team-a", read)
    assert stale.value.status == 409
    listed = await core.list_namespaced_config_map("team-a", label_selector="k=v")
    assert [c.metadata.name for c in listed.items] == ["settings"]
    status = await core.delete_namespaced_config_map("settings", "team-a")
    assert status.status == "Success"
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_config_map("settings", "team-a")
    assert missing.value.status == 404
    assert missing.value.reason == "Not Found"


async def test_core_v1_nodes_through_the_member_proxy(sim: testing.RunningSim, tmp_path: Path) -> None:
    path = sim.write_kubeconfig(tmp_path / "member", cluster="cluster-beijing")
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        nodes = await client.CoreV1Api(api).list_node()
    assert nodes.items
    assert all(n.metadata.name.startswith("cluster-beijing") for n in nodes.items)
    assert all(n.status.capacity["cpu"] for n in nodes.items)


async def test_apps_v1_deployments_patch_status_and_scale(kube: client.ApiClient) -> None:
    apps = client.AppsV1Api(kube)
    created = await apps.create_namespaced_deployment("default", nginx())
    assert created.metadata.generation == 1
    # A dict body goes out as a strategic merge patch: containers merge by name.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}
    patched = await apps.patch_namespaced_deployment("nginx", "default", patch)
    assert [c.image for c in patched.spec.template.spec.containers] == ["nginx:1.26"]
    assert patched.metadata.generation == 2
    json_patched = await apps.patch_namespaced_deployment(
        "nginx", "default", [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    )
    assert json_patched.spec.replicas == 3

    status = await apps.patch_namespaced_deployment_status(
        "nginx", "default", {"status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}}
    )
    assert status.status.ready_replicas == 3
    assert status.spec.replicas == 3
    read_status = await apps.read_namespaced_deployment_status("nginx", "default")
    assert read_status.status.available_replicas == 3

    scale = await apps.read_namespaced_deployment_scale("nginx", "default")
    assert scale.spec.replicas == 3
    await apps.patch_namespaced_deployment_scale("nginx", "default", {"spec": {"replicas": 5}})
    assert (await apps.read_namespaced_deployment("nginx", "default")).spec.replicas == 5

    applied = await apps.patch_namespaced_deployment(
        "nginx",
        "default",
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx", "labels": {"tier": "web"}}},
        field_manager="pytest",
        _content_type="application/apply-patch+yaml",  # type: ignore[call-arg]  # passed through **kwargs
    )
    assert applied.metadata.labels["tier"] == "web"
    assert {m.manager for m in applied.metadata.managed_fields} >= {"pytest"}


@pytest.mark.skipif(not HAVE_CRDS, reason="../shared/crds is not present")
async def test_custom_objects_volcano_job_is_validated(kube: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube)
    with pytest.raises(ApiException) as invalid:
        await custom.create_namespaced_custom_object(
            "batch.volcano.sh", "v1alpha1", "default", "jobs", volcano_job("bad", "three")
        )
    assert invalid.value.status == 422
    assert invalid.value.body is not None
    body = json.loads(invalid.value.body)
    assert body["reason"] == "Invalid"
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.minAvailable"]
    ok = await custom.create_namespaced_custom_object(
        "batch.volcano.sh", "v1alpha1", "default", "jobs", volcano_job("good")
    )
    assert ok["metadata"]["name"] == "good"


async def test_custom_objects_propagation_policy_lifecycle(kube: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube)
    args = ("policy.karmada.io", "v1alpha1", "default", "propagationpolicies")
    created = await custom.create_namespaced_custom_object(*args, propagation_policy("nginx-propagation"))
    assert created["metadata"]["generation"] == 1
    listed = await custom.list_namespaced_custom_object(*args, label_selector="team=web")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["nginx-propagation"]
    assert listed["kind"] == "PropagationPolicyList"

    # CustomObjectsApi labels every body JSON patch unless told otherwise: a dict needs the
    # merge type named (a real apiserver refuses it the same way otherwise).
    with pytest.raises(ApiException) as wrong_type:
        await custom.patch_namespaced_custom_object(*args, "nginx-propagation", {"spec": {"priority": 5}})
    assert wrong_type.value.status == 400
    merged = await custom.patch_namespaced_custom_object(
        *args,
        "nginx-propagation",
        {"spec": {"priority": 5}},
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]  # passed through **kwargs
    )
    assert merged["spec"]["priority"] == 5
    json_patched = await custom.patch_namespaced_custom_object(
        *args,
        "nginx-propagation",
        [{"op": "add", "path": "/spec/placement/clusterAffinity/clusterNames/-", "value": "cluster-guangzhou"}],
    )
    assert json_patched["spec"]["placement"]["clusterAffinity"]["clusterNames"][-1] == "cluster-guangzhou"
    assert json_patched["metadata"]["generation"] == 3

    deleted = await custom.delete_namespaced_custom_object(*args, "nginx-propagation")
    assert deleted["status"] == "Success"
    with pytest.raises(ApiException) as gone:
        await custom.get_namespaced_custom_object(*args, "nginx-propagation")
    assert gone.value.status == 404


async def test_dynamic_client(kube: client.ApiClient) -> None:
    dynamic = await DynamicClient(kube)
    policies = await dynamic.resources.get(api_version="policy.karmada.io/v1alpha1", kind="PropagationPolicy")
    assert policies.namespaced
    created = await dynamic.create(policies, body=propagation_policy("dyn"), namespace="default")
    assert created.metadata.name == "dyn"
    got = await dynamic.get(policies, name="dyn", namespace="default")
    assert got.spec.placement.replicaScheduling.replicaSchedulingType == "Duplicated"
    patched = await dynamic.patch(
        policies,
        body={"metadata": {"labels": {"x": "y"}}},
        name="dyn",
        namespace="default",
        content_type="application/merge-patch+json",
    )
    assert patched.metadata.labels["x"] == "y"
    listed = await dynamic.get(policies, namespace="default")
    assert [i.metadata.name for i in listed.items] == ["dyn"]
    clusters = await dynamic.resources.get(api_version="cluster.karmada.io/v1alpha1", kind="Cluster")
    assert not clusters.namespaced
    await dynamic.delete(policies, name="dyn", namespace="default")
    assert not (await dynamic.get(policies, namespace="default")).items


async def test_watch_added_modified_deleted(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        w = watch.Watch()
        async for event in w.stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    await core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w")))
    await core.patch_namespaced_config_map("w", "default", {"data": {"a": "b"}})
    await core.delete_namespaced_config_map("w", "default")
    async with asyncio.timeout(10):
        await task
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_watch_with_a_too_old_version_is_410(kube: client.ApiClient, sim: testing.RunningSim) -> None:
    sim.fleet.host._history.clear()
    core = client.CoreV1Api(kube)
    for i in range(2):
        await core.create_namespaced_config_map(
            "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"c{i}"))
        )
    w = watch.Watch()
    with pytest.raises(ApiException) as expired:
        async for _ in w.stream(core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=5):
            pass
    assert expired.value.status == 410


@pytest.fixture
async def member_kube(sim: testing.RunningSim, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    path = sim.write_kubeconfig(tmp_path / "m", cluster="cluster-shanghai")
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api


async def test_dynamic_client_against_a_member(member_kube: client.ApiClient) -> None:
    dynamic = await DynamicClient(member_kube)
    nodes = await dynamic.resources.get(api_version="v1", kind="Node")
    listed = await dynamic.get(nodes)
    assert all(n.metadata.name.startswith("cluster-shanghai") for n in listed.items)
