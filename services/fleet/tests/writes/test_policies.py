"""Karmada policies and templates written as intents carry them (the seed's three fleet documents).

Covered: native policies written as they are; the seed's weighted shorthand written natively
with the ``ShorthandConverted`` condition saying Aggregated was dropped; override policies as
written; the selector-less Deployment completed; deletes (also of what is already gone);
Karmada's 422 as a rejection naming the intent's field; Karmada unreachable as a retry;
no Kubernetes configured means the default (accepting) handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kurator_fleet import handlers, policies
from kurator_fleet.adapters import karmada as karmada_adapter
from kurator_sim import testing
from shared import errors
from shared.contracts.models import workloads
from shared.k8s import connection, objects, resources

Apply = Callable[..., Any]


async def test_seed_propagation_policy_is_written_as_it_is(apply: Apply, read: objects.Objects, kit: Any) -> None:
    doc = kit.example("01-propagationpolicy-nginx.yaml")
    status = await apply(doc)
    assert status["phase"] == "Applied"
    assert status["observedGeneration"] == 1
    assert status["written"] == [
        {
            "apiVersion": "policy.karmada.io/v1alpha1",
            "kind": "PropagationPolicy",
            "name": "nginx-propagation",
            "namespace": "default",
        }
    ]
    applied = kit.conditions(status)["Applied"]
    assert applied["status"] == "True"
    assert "PropagationPolicy default/nginx-propagation" in applied["message"]
    stored = await read.get(resources.PROPAGATION_POLICIES, name="nginx-propagation", namespace="default")
    assert stored["spec"]["placement"] == doc["spec"]["placement"]
    assert stored["spec"]["resourceSelectors"][0]["name"] == "nginx"
    assert [m["manager"] for m in stored["metadata"]["managedFields"]] == ["kurator-fleet"]


async def test_applying_again_changes_nothing(apply: Apply, read: objects.Objects, kit: Any) -> None:
    doc = kit.example("01-propagationpolicy-nginx.yaml")
    await apply(doc)
    first = await read.get(resources.PROPAGATION_POLICIES, name="nginx-propagation", namespace="default")
    await apply(doc)
    again = await read.get(resources.PROPAGATION_POLICIES, name="nginx-propagation", namespace="default")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_seed_shorthand_is_written_natively_and_aggregated_is_reported(
    apply: Apply, read: objects.Objects, kit: Any
) -> None:
    status = await apply(kit.example("02-clusterpropagationpolicy-frontend.yaml"))
    stored = await read.get(resources.CLUSTER_PROPAGATION_POLICIES, name="frontend-app")
    assert stored["spec"]["placement"]["replicaScheduling"] == {
        "replicaSchedulingType": "Divided",
        "replicaDivisionPreference": "Weighted",
        "weightPreference": {
            "staticWeightList": [
                {"targetCluster": {"clusterNames": ["cluster-shanghai"]}, "weight": 60},
                {"targetCluster": {"clusterNames": ["cluster-hangzhou"]}, "weight": 40},
            ]
        },
    }
    converted = kit.conditions(status)["ShorthandConverted"]
    assert (converted["status"], converted["reason"]) == ("True", "AggregatedPreferenceDropped")
    assert "cluster-shanghai: 60, cluster-hangzhou: 40" in converted["message"]
    assert "Aggregated was dropped" in converted["message"]


async def test_shorthand_without_a_preference_says_only_what_was_rewritten(apply: Apply, kit: Any) -> None:
    doc = kit.example("02-clusterpropagationpolicy-frontend.yaml")
    del doc["spec"]["placement"]["replicaScheduling"]["replicaDivisionPreference"]
    status = await apply(doc)
    assert kit.conditions(status)["ShorthandConverted"]["reason"] == "WeightedShorthandConverted"


async def test_native_policies_get_no_conversion_condition(apply: Apply, kit: Any) -> None:
    status = await apply(kit.example("01-propagationpolicy-nginx.yaml"))
    assert set(kit.conditions(status)) == {"Applied"}


async def test_override_policy_is_written_as_it_is(apply: Apply, read: objects.Objects) -> None:
    doc = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "OverridePolicy",
        "metadata": {"name": "nginx-beijing", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
            "overrideRules": [
                {
                    "targetCluster": {"clusterNames": ["cluster-beijing"]},
                    "overriders": {"plaintext": [{"path": "/spec/replicas", "operator": "replace", "value": 3}]},
                }
            ],
        },
    }
    await apply(doc)
    stored = await read.get(resources.OVERRIDE_POLICIES, name="nginx-beijing", namespace="default")
    assert stored["spec"]["overrideRules"] == doc["spec"]["overrideRules"]


async def test_seed_deployment_is_completed_before_it_is_written(apply: Apply, read: objects.Objects, kit: Any) -> None:
    status = await apply(kit.example("09-deployment-kurator-controller-manager.yaml"))
    stored = await read.get(resources.DEPLOYMENTS, name="kurator-controller-manager", namespace="default")
    assert stored["spec"]["selector"] == {"matchLabels": {"app": "kurator-controller-manager"}}
    assert stored["spec"]["template"]["metadata"]["labels"] == {"app": "kurator-controller-manager"}
    assert stored["spec"]["replicas"] == 3
    completed = kit.conditions(status)["TemplateCompleted"]
    assert completed["reason"] == "SelectorDefaulted"


async def test_delete_removes_and_tolerates_absence(
    apply: Apply, delete: Callable[..., Any], read: objects.Objects, kit: Any
) -> None:
    doc = kit.example("02-clusterpropagationpolicy-frontend.yaml")
    await apply(doc)
    await delete(doc)
    assert await read.find(resources.CLUSTER_PROPAGATION_POLICIES, name="frontend-app") is None
    await delete(doc)  # already gone: fine


@pytest.mark.skipif(not testing.SHARED_CRDS.is_dir(), reason="../shared/crds is not present")
async def test_karmada_422_is_a_rejection_naming_the_field(apply: Apply, kit: Any) -> None:
    doc = kit.example("01-propagationpolicy-nginx.yaml")
    # Passes our model (suspension.dispatchingOnClusters is handed on untouched), not the CRD.
    doc["spec"]["suspension"] = {"dispatchingOnClusters": {"clusterNames": "cluster-beijing"}}
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(doc)
    [reason] = info.value.reasons
    assert reason.field == "spec.suspension.dispatchingOnClusters.clusterNames"
    assert reason.message.startswith("Karmada refused PropagationPolicy default/nginx-propagation")


async def test_karmada_unreachable_is_retried(tmp_path: Path, kit: Any, desired: Any) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "k", "cluster": {"server": f"http://127.0.0.1:{kit.closed_port()}"}}],
        "contexts": [{"name": "k", "context": {"cluster": "k", "user": "u"}}],
        "users": [{"name": "u", "user": {}}],
        "current-context": "k",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    kube = await connection.api_client(tmp_path / "kubeconfig")
    try:
        built = handlers.for_karmada(karmada_adapter.KarmadaApi(kube), desired=desired)
        doc = kit.example("01-propagationpolicy-nginx.yaml")
        with pytest.raises(errors.RetryableError) as info:
            await built["propagationpolicy"].on_apply(kit.model(doc), kit.record(doc))
        assert info.value.delay.total_seconds() == 5
        with pytest.raises(errors.RetryableError):
            await built["propagationpolicy"].on_delete(kit.record(doc))
    finally:
        await kube.close()


@pytest.mark.parametrize(
    ("selector", "labels"),
    [({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "front"}), (None, None), (None, {"app": "web"})],
)
def test_rendered_deployment_is_its_completed_form(
    selector: dict[str, Any] | None, labels: dict[str, str] | None
) -> None:
    template: dict[str, Any] = {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
    if labels is not None:
        template["metadata"] = {"labels": labels}
    spec: dict[str, Any] = {"replicas": 2, "template": template}
    if selector is not None:
        spec["selector"] = selector
    meta = {"name": "web", "namespace": "default"}
    obj = workloads.Deployment.model_validate(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}
    )
    rendered = policies.render_deployment(obj)
    assert rendered.body == obj.completed().to_wire()
    assert bool(rendered.notes) == (selector is None)
