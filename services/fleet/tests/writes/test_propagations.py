"""The propagation contract, fleet side: templates and one policy written, cleaned up on delete.

Covered: every template written in the Propagation's namespace with the owner and propagation
labels, Deployments completed; one PropagationPolicy ``<name>`` selecting exactly the templates
with the given placement (shorthand written natively); cluster-scoped templates in a
ClusterPropagationPolicy ``<ns>.<name>``; a template dropped on re-apply deleted; delete removing
everything written and nothing else; a template or policy someone else holds refused; Karmada's
422 on a template named ``spec.templates[i]...``; a kind Karmada does not serve refused; a first
apply (no record before) looking up only the policies it writes, a policy of our name it does not
write left alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kurator_fleet import handlers
from kurator_sim import testing
from shared import errors
from shared.k8s import objects, resources

Apply = Callable[..., Any]
CONFIGMAPS = resources.Resource("", "v1", "configmaps", True, "ConfigMap")
SERVICES = resources.Resource("", "v1", "services", True, "Service")

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "frontend", "labels": {"app": "frontend"}},
    "spec": {
        "replicas": 3,
        "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "frontend"},
    "spec": {"ports": [{"port": 80}], "selector": {"app": "frontend"}},
}
CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "frontend"},
    "data": {"a": "b"},
}


def propagation(*templates: dict[str, Any], name: str = "frontend", namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "fleet.kurator.dev/v1alpha1",
        "kind": "Propagation",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": namespace, "name": "frontend"},
            "templates": [copy.deepcopy(t) for t in templates or (DEPLOYMENT, SERVICE)],
            "placement": {
                "clusterAffinity": {"clusterNames": ["cluster-shanghai", "cluster-hangzhou"]},
                "replicaScheduling": {
                    "replicaSchedulingType": "Weighted",
                    "weightList": [
                        {"targetCluster": {"clusterNames": ["cluster-shanghai"]}, "weight": 2},
                        {"targetCluster": {"clusterNames": ["cluster-hangzhou"]}, "weight": 1},
                    ],
                },
            },
            "propagateDeps": True,
        },
    }


async def test_templates_and_policy_are_written(apply: Apply, read: objects.Objects, kit: Any) -> None:
    status = await apply(propagation())
    assert status["phase"] == "Applied"
    assert [(w["kind"], w.get("namespace"), w["name"]) for w in status["written"]] == [
        ("Deployment", "shop", "frontend"),
        ("Service", "shop", "frontend"),
        ("PropagationPolicy", "shop", "frontend"),
    ]
    assert status["owner"] == {
        "service": "apps",
        "kind": "FederatedDeployment",
        "namespace": "shop",
        "name": "frontend",
    }
    assert kit.conditions(status)["ShorthandConverted"]["reason"] == "WeightedShorthandConverted"
    deployment = await read.get(resources.DEPLOYMENTS, name="frontend", namespace="shop")
    labels = deployment["metadata"]["labels"]
    assert labels["app"] == "frontend"
    assert (labels["kurator.dev/propagation"], labels["kurator.dev/propagation-namespace"]) == ("frontend", "shop")
    assert (labels["kurator.dev/owner-service"], labels["kurator.dev/owner-kind"]) == ("apps", "FederatedDeployment")
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "frontend"}}, "completed like a Deployment intent"
    policy = await read.get(resources.PROPAGATION_POLICIES, name="frontend", namespace="shop")
    assert policy["metadata"]["labels"]["kurator.dev/propagation"] == "frontend"
    assert policy["spec"]["resourceSelectors"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend", "namespace": "shop"},
        {"apiVersion": "v1", "kind": "Service", "name": "frontend", "namespace": "shop"},
    ]
    assert policy["spec"]["propagateDeps"] is True
    assert policy["spec"]["placement"]["replicaScheduling"]["replicaSchedulingType"] == "Divided"
    assert policy["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"][0]["weight"] == 2


async def test_cluster_scoped_templates_get_a_cluster_policy(apply: Apply, read: objects.Objects) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}}
    status = await apply(propagation(CONFIGMAP, namespace))
    assert ("ClusterPropagationPolicy", "shop.frontend") in {(w["kind"], w["name"]) for w in status["written"]}
    cpp = await read.get(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend")
    assert cpp["spec"]["resourceSelectors"] == [{"apiVersion": "v1", "kind": "Namespace", "name": "shop-extra"}]
    pp = await read.get(resources.PROPAGATION_POLICIES, name="frontend", namespace="shop")
    assert [s["kind"] for s in pp["spec"]["resourceSelectors"]] == ["ConfigMap"]


async def test_a_template_no_longer_listed_is_deleted(apply: Apply, read: objects.Objects) -> None:
    await apply(propagation(DEPLOYMENT, SERVICE, CONFIGMAP))
    status = await apply(propagation(DEPLOYMENT), generation=2)
    assert status["removed"] == [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "frontend", "namespace": "shop"},
        {"apiVersion": "v1", "kind": "Service", "name": "frontend", "namespace": "shop"},
    ]
    assert await read.find(SERVICES, name="frontend", namespace="shop") is None
    assert await read.find(CONFIGMAPS, name="frontend", namespace="shop") is None
    policy = await read.get(resources.PROPAGATION_POLICIES, name="frontend", namespace="shop")
    assert [s["kind"] for s in policy["spec"]["resourceSelectors"]] == ["Deployment"]


async def test_a_policy_nothing_needs_any_more_is_deleted(apply: Apply, read: objects.Objects) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}}
    await apply(propagation(CONFIGMAP, namespace))
    assert await read.find(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend") is not None
    status = await apply(propagation(CONFIGMAP), generation=2)
    assert await read.find(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend") is None
    assert {"apiVersion": "v1", "kind": "Namespace", "name": "shop-extra"} in status["removed"]
    assert ("ClusterPropagationPolicy", "shop.frontend") not in {(w["kind"], w["name"]) for w in status["written"]}


async def test_delete_removes_everything_written_and_nothing_else(
    apply: Apply, delete: Callable[..., Any], read: objects.Objects
) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}}
    doc = propagation(DEPLOYMENT, SERVICE, namespace)
    await apply(doc)
    bystander = {"metadata": {"name": "bystander", "namespace": "shop"}, "data": {"x": "y"}}
    await read.apply(CONFIGMAPS, bystander)
    await delete(doc)
    assert await read.find(resources.DEPLOYMENTS, name="frontend", namespace="shop") is None
    assert await read.find(SERVICES, name="frontend", namespace="shop") is None
    extra = await read.find(resources.NAMESPACES, name="shop-extra")
    assert extra is None or extra["metadata"].get("deletionTimestamp"), "deleted (or finalizing)"
    assert await read.find(resources.PROPAGATION_POLICIES, name="frontend", namespace="shop") is None
    assert await read.find(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend") is None
    assert await read.find(CONFIGMAPS, name="bystander", namespace="shop") is not None
    await delete(doc)  # twice: nothing left to do


async def test_a_template_of_another_propagation_is_refused(apply: Apply) -> None:
    await apply(propagation(DEPLOYMENT, name="first"))
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(propagation(SERVICE, DEPLOYMENT, name="second"))
    [reason] = info.value.reasons
    assert reason.field == "spec.templates[1]"
    assert "kurator.dev/propagation=first" in reason.message


async def test_a_policy_of_our_name_written_by_someone_else_is_refused(apply: Apply, kit: Any) -> None:
    policy = kit.example("01-propagationpolicy-nginx.yaml", namespace="shop")
    policy["metadata"]["name"] = "frontend"
    await apply(policy)
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(propagation())
    assert info.value.reasons[0].field == "metadata.name"


async def test_a_kind_karmada_does_not_serve_is_refused(apply: Apply) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(propagation(DEPLOYMENT, widget))
    [reason] = info.value.reasons
    assert (reason.field, reason.reason) == ("spec.templates[1].kind", "FieldValueNotSupported")


@pytest.mark.skipif(not testing.SHARED_CRDS.is_dir(), reason="../shared/crds is not present")
async def test_karmada_422_on_a_template_names_its_field(apply: Apply) -> None:
    schedule = {
        "apiVersion": "velero.io/v1",
        "kind": "Schedule",
        "metadata": {"name": "daily"},
        "spec": {"schedule": 5, "template": {}},
    }
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(propagation(schedule))
    assert [r.field for r in info.value.reasons] == ["spec.templates[0].spec.schedule"]


class CountingKarmada:
    """The adapter, counting which objects are looked up."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.found: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def find(self, ref: Any) -> Any:
        self.found.append(ref.kind)
        return await self._inner.find(ref)


@pytest.fixture
def counted(karmada: Any) -> CountingKarmada:
    return CountingKarmada(karmada)


@pytest.fixture
def first_apply(counted: CountingKarmada, kit: Any) -> Callable[..., Any]:
    """``await first_apply(doc)``: the apply of a Propagation that had no record before."""
    handler = handlers.for_karmada(counted, desired=None, finish=lambda _, status: status)["propagation"]  # type: ignore[arg-type]

    async def run(doc: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await handler.on_first_apply(kit.model(doc), kit.record(doc))
        return result

    return run


async def test_a_first_apply_does_not_look_for_a_cluster_policy_it_does_not_write(
    first_apply: Callable[..., Any], counted: CountingKarmada, read: objects.Objects
) -> None:
    status = await first_apply(propagation())
    assert status["phase"] == "Applied"
    assert counted.found == ["Deployment", "Service", "PropagationPolicy"]
    assert await read.find(resources.PROPAGATION_POLICIES, name="frontend", namespace="shop") is not None


async def test_a_first_apply_still_looks_for_the_policies_it_writes(
    first_apply: Callable[..., Any], counted: CountingKarmada, read: objects.Objects
) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}}
    await first_apply(propagation(namespace))
    assert counted.found == ["Namespace", "ClusterPropagationPolicy"], "no namespaced template, no PropagationPolicy"
    assert await read.find(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend") is not None
    assert await read.find(resources.PROPAGATION_POLICIES, name="frontend", namespace="shop") is None


async def test_a_cluster_policy_of_a_first_apply_is_withdrawn_by_the_next(
    first_apply: Callable[..., Any], apply: Apply, read: objects.Objects
) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}}
    await first_apply(propagation(CONFIGMAP, namespace))
    status = await apply(propagation(CONFIGMAP), generation=2)
    assert await read.find(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend") is None
    assert {"apiVersion": "v1", "kind": "Namespace", "name": "shop-extra"} in status["removed"]


async def test_a_policy_of_our_name_this_propagation_does_not_write_is_left_alone(
    apply: Apply, first_apply: Callable[..., Any], read: objects.Objects
) -> None:
    theirs = {
        "metadata": {"name": "shop.frontend"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "Namespace", "name": "theirs"}],
            "placement": {"clusterAffinity": {"clusterNames": ["cluster-shanghai"]}},
        },
    }
    await read.apply(resources.CLUSTER_PROPAGATION_POLICIES, theirs)
    assert (await first_apply(propagation()))["phase"] == "Applied"
    status = await apply(propagation(DEPLOYMENT), generation=2)
    assert ("ClusterPropagationPolicy", "shop.frontend") not in {(w["kind"], w["name"]) for w in status["written"]}
    kept = await read.get(resources.CLUSTER_PROPAGATION_POLICIES, name="shop.frontend")
    assert kept["spec"]["resourceSelectors"] == theirs["spec"]["resourceSelectors"]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}}
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(propagation(DEPLOYMENT, namespace), generation=3)
    assert "ClusterPropagationPolicy shop.frontend" in info.value.reasons[0].message, "refused once it would write it"
