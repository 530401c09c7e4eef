"""The ``plan`` operation: policies as written, workloads as Karmada reads them, the query handler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.contracts.plan import PlanRequest, PlanResponse
from shared.placement import plan, workload
from shared.placement.testing import cluster

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ODD_UID = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"

FLEET = [
    cluster("cluster-beijing", cpu="48", labels={"environment": "production", "region": "north-china"}),
    cluster("cluster-shanghai", cpu="48", labels={"environment": "production", "region": "east-china"}),
    cluster("cluster-hangzhou", cpu="24", labels={"environment": "production", "region": "east-china"}),
    cluster("cluster-guangzhou", pods=440, cpu="96", labels={"environment": "production", "region": "south-china"}),
    cluster("cluster-suzhou-staging", cpu="16", labels={"environment": "staging", "region": "east-china"}),
]


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return doc


def deployment(name: str, replicas: int | None, **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": {"spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "250m"}}}]}}
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, **meta}, "spec": spec}


def test_the_seed_nginx_policy_duplicates() -> None:
    # Candidates in Karmada's order: most room first (guangzhou), then by name.
    answer = plan.plan(
        PlanRequest(policy=example("01-propagationpolicy-nginx.yaml"), workload=deployment("nginx", 2)), FLEET
    )
    assert [(c.name, c.replicas) for c in answer.clusters] == [
        ("cluster-guangzhou", 2),
        ("cluster-beijing", 2),
        ("cluster-shanghai", 2),
    ]
    assert answer.error is None
    assert answer.notes == []
    assert set(answer.excluded) == {"cluster-hangzhou", "cluster-suzhou-staging"}


def test_the_seed_frontend_shorthand_is_rewritten_and_said_so() -> None:
    request = PlanRequest(
        policy=example("02-clusterpropagationpolicy-frontend.yaml"), workload=deployment("frontend", 5, uid=ODD_UID)
    )
    answer = plan.plan(request, FLEET)
    assert [(c.name, c.replicas) for c in answer.clusters] == [("cluster-hangzhou", 2), ("cluster-shanghai", 3)]
    assert len(answer.notes) == 2
    assert "Kurator shorthand" in answer.notes[0]
    assert "Aggregated cannot be honoured" in answer.notes[1]


def test_an_invalid_policy_is_an_invalid_answer() -> None:
    policy = example("01-propagationpolicy-nginx.yaml")
    policy["spec"]["placement"]["spreadConstraints"] = [{"spreadByField": "cluster"}]
    answer = plan.plan(PlanRequest(policy=policy, workload=deployment("nginx", 1)), FLEET)
    assert answer.error is not None
    assert answer.error.reason == "Invalid"
    assert "maxGroups" in answer.error.message


def test_webhook_defaults_apply_to_policies_as_written() -> None:
    policy = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {
                "replicaScheduling": {"replicaSchedulingType": "Divided"},
                "spreadConstraints": [{"maxGroups": 2}],
            },
        },
    }
    answer = plan.plan(PlanRequest(policy=policy, workload=deployment("web", 4)), FLEET)
    assert answer.error is None
    assert sorted(c.replicas or 0 for c in answer.clusters) == [1, 1, 1, 1]  # static, equal weights, no spread


def test_nothing_fits() -> None:
    policy = example("01-propagationpolicy-nginx.yaml")
    answer = plan.plan(PlanRequest(policy=policy, workload=deployment("nginx", 1)), FLEET[3:4][:0])
    assert answer.error is not None
    assert answer.error.reason == "NoClusterFit"


def test_workload_reading() -> None:
    read = workload.interpret(deployment("web", None, uid="u"))
    assert (read.replicas, read.uid, read.replica_requirements) == (1, "u", {"resourceRequest": {"cpu": "0.25"}})
    federated = workload.interpret(
        {
            "apiVersion": "apps.kurator.dev/v1alpha1",
            "kind": "FederatedDeployment",
            "metadata": {"name": "fd"},
            "spec": {"template": {"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c"}]}}}}},
        }
    )
    assert (federated.kind, federated.replicas, federated.replica_requirements, federated.generated_from) == (
        "Deployment",
        3,
        None,
        "FederatedDeployment/fd",
    )
    config = workload.interpret({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert (config.replicas, config.replica_requirements) == (0, None)
    limits_only = deployment("l", 1)
    limits_only["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    assert workload.interpret(limits_only).replica_requirements is None  # templates get no defaulting


async def test_the_query_handler_asks_for_clusters_only_when_needed() -> None:
    asked = 0

    async def live() -> list[dict[str, Any]]:
        nonlocal asked
        asked += 1
        return FLEET

    body = PlanRequest(policy=example("01-propagationpolicy-nginx.yaml"), workload=deployment("nginx", 1))
    answer = PlanResponse.model_validate(await plan.handle(body.model_dump(by_alias=True), live))
    assert asked == 1
    assert len(answer.clusters) == 3
    with_clusters = body.model_copy(update={"clusters": FLEET[:1]})
    answer = PlanResponse.model_validate(await plan.handle(with_clusters.model_dump(by_alias=True), live))
    assert asked == 1
    assert [c.name for c in answer.clusters] == ["cluster-beijing"]
    bad = PlanResponse.model_validate(await plan.handle({"policy": 3}, live))
    assert bad.error is not None
    assert bad.error.reason == "Invalid"
