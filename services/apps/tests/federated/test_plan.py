"""Planning a FederatedDeployment: the Deployment, the exact placement, its companions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kurator_apps.federated import placement
from kurator_apps.federated import plan as fd_plan
from shared.contracts.models import karmada
from shared.errors import InvalidIntent

Obj = dict[str, Any]
Causes = Callable[[Obj], list[str]]
Labels = dict[str, dict[str, str]]


def _plan(doc: Obj, fleet: Labels, applied: list[Any] | None = None, uid: str = "") -> fd_plan.FederatedPlan:
    return fd_plan.plan(fd_plan.parse(doc), clusters=fleet, applied=applied or [], template_uid=uid)


def _karmada_clusters(names: list[str]) -> list[Obj]:
    """Ready Karmada Cluster objects serving Deployments, for the simulator's scheduler."""
    enablements = [{"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]}]
    return [
        {
            "metadata": {"name": n, "labels": {}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "apiEnablements": enablements},
        }
        for n in names
    ]


# --- the seed ------------------------------------------------------------------------------------


def test_seed_runs_two_in_beijing_and_one_in_shanghai(
    seed_fd: Obj, seed_companions: list[Any], fleet_labels: Labels, crd_causes: Causes
) -> None:
    result = _plan(seed_fd, fleet_labels, seed_companions)
    assert result.replicas == {"cluster-beijing": 2, "cluster-shanghai": 1}
    assert result.exact
    assert result.placement == {
        "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
        "replicaScheduling": {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": "Weighted",
            "weightPreference": {
                "staticWeightList": [
                    {"targetCluster": {"clusterNames": ["cluster-beijing"]}, "weight": 2},
                    {"targetCluster": {"clusterNames": ["cluster-shanghai"]}, "weight": 1},
                ]
            },
        },
    }
    policy = result.propagation_policy()
    assert crd_causes(policy) == []
    karmada.PropagationPolicy.model_validate(policy)
    assert result.warnings == ()


def test_seed_deployment(seed_fd: Obj, fleet_labels: Labels) -> None:
    deployment = _plan(seed_fd, fleet_labels).deployment
    assert deployment == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "frontend-app",
            "annotations": {"apps.kurator.dev/federated-deployment": "frontend-app"},
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "frontend"}},
            "template": {
                "metadata": {"labels": {"app": "frontend"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.21", "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def test_seed_service_and_ingress_follow_it(seed_fd: Obj, seed_companions: list[Any], fleet_labels: Labels) -> None:
    result = _plan(seed_fd, fleet_labels, seed_companions)
    assert [(c.kind, c.metadata.name) for c in result.companions] == [
        ("Service", "frontend-service"),
        ("Ingress", "frontend-ingress"),
    ]
    assert result.resource_selectors == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend-app"},
        {"apiVersion": "v1", "kind": "Service", "name": "frontend-service"},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "frontend-ingress"},
    ]


@pytest.mark.parametrize("uid", ["", "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"])
def test_the_simulated_karmada_scheduler_places_exactly_the_seed_counts(
    seed_fd: Obj, fleet_labels: Labels, uid: str
) -> None:
    from kurator_sim.controllers.placement import place

    result = _plan(seed_fd, fleet_labels)
    clusters = _karmada_clusters(sorted(fleet_labels))
    placed = place(result.placement, result.deployment["spec"]["replicas"], clusters, uid=uid)
    assert {c["name"]: c["replicas"] for c in placed} == {"cluster-beijing": 2, "cluster-shanghai": 1}


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 12), min_size=1, max_size=6), odd=st.booleans())
def test_explicit_counts_are_exact_through_the_simulated_scheduler(counts: list[int], odd: bool) -> None:
    from kurator_sim.controllers.placement import place

    names = [f"member{i}" for i in range(len(counts))]
    doc = {
        "apiVersion": "apps.kurator.dev/v1alpha1",
        "kind": "FederatedDeployment",
        "metadata": {"name": "web"},
        "spec": {
            "template": {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}},
            "placement": {"clusters": [{"name": n, "replicas": c} for n, c in zip(names, counts, strict=True)]},
        },
    }
    result = _plan(doc, {n: {} for n in names})
    wanted = {n: c for n, c in zip(names, counts, strict=True) if c > 0}
    if not wanted:
        assert result.placement["replicaScheduling"] == {"replicaSchedulingType": "Duplicated"}
        assert result.replicas == dict.fromkeys(names, 0)
        return
    uid = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c" if odd else ""
    placed = place(result.placement, result.deployment["spec"]["replicas"], _karmada_clusters(names), uid=uid)
    assert {c["name"]: c["replicas"] for c in placed} == wanted == result.replicas


# --- other placement forms -------------------------------------------------------------------------


def test_listed_clusters_without_counts_each_run_the_template_replicas(
    seed_fd: Obj, fleet_labels: Labels, crd_causes: Causes
) -> None:
    seed_fd["spec"]["placement"]["clusters"] = [{"name": "cluster-beijing"}, {"name": "cluster-hangzhou"}]
    result = _plan(seed_fd, fleet_labels)
    assert result.replicas == {"cluster-beijing": 3, "cluster-hangzhou": 3}
    assert result.placement == {
        "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-hangzhou"]},
        "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
    }
    assert result.deployment["spec"]["replicas"] == 3
    assert crd_causes(result.propagation_policy()) == []


def test_zero_replicas_leave_a_cluster_out(seed_fd: Obj, fleet_labels: Labels) -> None:
    seed_fd["spec"]["template"]["spec"]["replicas"] = 2
    seed_fd["spec"]["placement"]["clusters"][1]["replicas"] = 0
    result = _plan(seed_fd, fleet_labels)
    assert result.replicas == {"cluster-beijing": 2}
    assert result.placement["clusterAffinity"] == {"clusterNames": ["cluster-beijing"]}


def test_a_cluster_selector_duplicates_onto_every_selected_member(
    seed_fd: Obj, fleet_labels: Labels, crd_causes: Causes
) -> None:
    seed_fd["spec"]["placement"] = {"clusterSelector": {"matchLabels": {"region": "east-china"}}}
    seed_fd["spec"]["template"]["spec"]["replicas"] = 2
    result = _plan(seed_fd, fleet_labels)
    assert result.replicas == {
        "cluster-hangzhou": 2,
        "cluster-shanghai": 2,
        "cluster-suzhou-staging": 2,
        "edge-site-hangzhou": 2,
    }
    assert result.placement == {
        "clusterAffinity": {"labelSelector": {"matchLabels": {"region": "east-china"}}},
        "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
    }
    assert crd_causes(result.propagation_policy()) == []


def test_a_cluster_selector_with_weights_divides_the_replicas(
    seed_fd: Obj, fleet_labels: Labels, crd_causes: Causes
) -> None:
    seed_fd["spec"]["template"]["spec"]["replicas"] = 10
    seed_fd["spec"]["placement"] = {
        "clusterSelector": {"matchLabels": {"environment": "production"}},
        "weights": [
            {"names": ["cluster-beijing"], "weight": 3},
            {"clusterSelector": {"matchLabels": {"region": "east-china"}}, "weight": 1},
        ],
    }
    result = _plan(seed_fd, fleet_labels)
    assert not result.exact
    # Weights: beijing 3, the east-china production clusters 1 each, guangzhou matches no rule.
    # Webster (Sainte-Laguë) gives 4:2:2:2, not the largest-remainder 5:2:2:1.
    assert result.replicas == {
        "cluster-beijing": 4,
        "cluster-hangzhou": 2,
        "cluster-shanghai": 2,
        "edge-site-hangzhou": 2,
    }
    assert sum(result.replicas.values()) == result.deployment["spec"]["replicas"] == 10
    assert result.placement["replicaScheduling"]["weightPreference"] == {
        "staticWeightList": [
            {"targetCluster": {"clusterNames": ["cluster-beijing"]}, "weight": 3},
            {"targetCluster": {"labelSelector": {"matchLabels": {"region": "east-china"}}}, "weight": 1},
        ]
    }
    assert crd_causes(result.propagation_policy()) == []


def test_weighted_prediction_agrees_with_the_simulated_scheduler(seed_fd: Obj, fleet_labels: Labels) -> None:
    from kurator_sim.controllers.placement import place

    seed_fd["spec"]["template"]["spec"]["replicas"] = 7
    seed_fd["spec"]["placement"] = {
        "clusterSelector": {"matchLabels": {"environment": "production"}},
        "weights": [
            {"names": ["cluster-beijing", "cluster-guangzhou"], "weight": 2},
            {"names": ["cluster-shanghai"], "weight": 1},
        ],
    }
    clusters = _karmada_clusters(sorted(fleet_labels))
    for cluster in clusters:
        cluster["metadata"]["labels"] = fleet_labels[cluster["metadata"]["name"]]
    for uid in ("", "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"):
        result = _plan(seed_fd, fleet_labels, uid=uid)
        placed = place(result.placement, 7, clusters, uid=uid)
        assert {c["name"]: c["replicas"] for c in placed} == result.replicas


def test_warnings(seed_fd: Obj, fleet_labels: Labels) -> None:
    seed_fd["spec"]["placement"]["clusters"][1]["name"] = "cluster-wuhan"
    assert _plan(seed_fd, fleet_labels).warnings == ("not members of the fleet: cluster-wuhan",)
    seed_fd["spec"]["placement"] = {"clusterSelector": {"matchLabels": {"region": "mars"}}}
    assert _plan(seed_fd, fleet_labels).warnings == ("the cluster selector matches no member of the fleet",)


def test_replicas_default_to_one(seed_fd: Obj, fleet_labels: Labels) -> None:
    del seed_fd["spec"]["template"]["spec"]["replicas"]
    seed_fd["spec"]["placement"]["clusters"] = [{"name": "cluster-beijing"}]
    assert _plan(seed_fd, fleet_labels).replicas == {"cluster-beijing": 1}


def test_template_metadata_and_namespace(seed_fd: Obj, fleet_labels: Labels) -> None:
    seed_fd["metadata"]["namespace"] = "shop"
    seed_fd["spec"]["template"]["metadata"] = {"labels": {"tier": "web"}, "annotations": {"team": "a"}}
    result = _plan(seed_fd, fleet_labels)
    assert result.deployment["metadata"] == {
        "name": "frontend-app",
        "namespace": "shop",
        "labels": {"tier": "web"},
        "annotations": {"team": "a", "apps.kurator.dev/federated-deployment": "frontend-app"},
    }
    assert result.propagation_policy()["metadata"] == {"name": "frontend-app", "namespace": "shop"}
    assert result.resource_selectors[0]["namespace"] == "shop"


def test_a_selectorless_template_is_completed(seed_fd: Obj, fleet_labels: Labels) -> None:
    spec = seed_fd["spec"]["template"]["spec"]
    del spec["selector"]
    del spec["template"]["metadata"]
    deployment = _plan(seed_fd, fleet_labels).deployment
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "frontend-app"}}
    assert deployment["spec"]["template"]["metadata"] == {"labels": {"app": "frontend-app"}}


# --- broken variants -------------------------------------------------------------------------------

BROKEN: list[tuple[str, Callable[[Obj], object], list[tuple[str, str]]]] = [
    (
        "counts that do not add up to the template's replicas",
        lambda d: d["spec"]["placement"]["clusters"][0].update(replicas=5),
        [("spec.placement.clusters", "FieldValueInvalid")],
    ),
    (
        "counts on some clusters only",
        lambda d: d["spec"]["placement"]["clusters"][1].pop("replicas"),
        [("spec.placement.clusters[1].replicas", "FieldValueRequired")],
    ),
    (
        "the same cluster twice",
        lambda d: d["spec"]["placement"]["clusters"][1].update(name="cluster-beijing", replicas=1),
        [("spec.placement.clusters[1].name", "FieldValueDuplicate")],
    ),
    (
        "a cluster name that is no DNS label",
        lambda d: d["spec"]["placement"]["clusters"][0].update(name="Cluster_Beijing"),
        [("spec.placement.clusters[0].name", "FieldValueInvalid")],
    ),
    (
        "negative replicas",
        lambda d: d["spec"]["placement"]["clusters"][0].update(replicas=-1),
        [("spec.placement.clusters[0].replicas", "FieldValueInvalid")],
    ),
    (
        "clusters and a selector",
        lambda d: d["spec"]["placement"].update(clusterSelector={"matchLabels": {"a": "b"}}),
        [("spec.placement.clusterSelector", "FieldValueForbidden")],
    ),
    (
        "weights without a selector",
        lambda d: d["spec"]["placement"].update(weights=[{"names": ["cluster-beijing"], "weight": 1}]),
        [("spec.placement.weights", "FieldValueForbidden")],
    ),
    (
        "a selector the pod labels do not match",
        lambda d: d["spec"]["template"]["spec"]["selector"].update(matchLabels={"app": "backend"}),
        [("spec.template.spec.template.metadata.labels", "FieldValueInvalid")],
    ),
    (
        "a container without an image",
        lambda d: d["spec"]["template"]["spec"]["template"]["spec"]["containers"][0].pop("image"),
        [("spec.template.spec.template.spec.containers[0].image", "FieldValueRequired")],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_variants_are_rejected_naming_the_field(
    seed_fd: Obj, change: Callable[[Obj], object], expected: list[tuple[str, str]]
) -> None:
    doc = copy.deepcopy(seed_fd)
    change(doc)
    with pytest.raises(InvalidIntent) as info:
        fd_plan.parse(doc)
    assert [(r.field, r.reason) for r in info.value.reasons] == expected


def test_replica_placement_alone(seed_fd: Obj) -> None:
    where = placement.replica_placement(fd_plan.parse(seed_fd), clusters={})
    assert (where.total, where.per_cluster, where.exact) == (3, {"cluster-beijing": 2, "cluster-shanghai": 1}, True)


# --- the Deployment's wire form without validating it again ---------------------------------------


def _variants(seed: Obj) -> list[Obj]:
    """The seed and templates that exercise each way the generated Deployment can differ."""
    out = [copy.deepcopy(seed)]
    template = seed["spec"]["template"]
    no_selector = copy.deepcopy(seed)
    no_selector["spec"]["template"]["spec"].pop("selector", None)
    out.append(no_selector)
    no_pod_labels = copy.deepcopy(seed)
    no_pod_labels["spec"]["template"]["spec"]["template"].pop("metadata", None)
    out.append(no_pod_labels)
    annotated = copy.deepcopy(seed)
    annotated["spec"]["template"]["metadata"] = {
        "labels": {"tier": "web"},
        "annotations": {"example.com/owner": "team-a", "note": "x"},
    }
    out.append(annotated)
    extras = copy.deepcopy(seed)
    extras["spec"]["template"]["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}
    extras["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": 0.5, "memory": "64Mi"}
    }
    out.append(extras)
    assert template is seed["spec"]["template"]  # the seed itself is left alone
    return out


def test_the_deployment_built_from_checked_parts_is_what_validating_it_returns(seed_fd: Obj) -> None:
    built = 0
    for doc in _variants(seed_fd):
        fd = fd_plan.parse(doc)
        for replicas in (0, 3):
            fast = fd_plan._checked_wire(fd, replicas)
            slow = fd_plan._clean(fd_plan.deployment(fd, replicas))
            if fast is not None:
                built += 1
                assert fast == slow
    assert built >= 6  # the seed, the annotated and the extras templates take the short way


def test_an_annotation_key_the_template_did_not_check_is_still_refused(seed_fd: Obj) -> None:
    doc = copy.deepcopy(seed_fd)
    doc["spec"]["template"]["metadata"] = {"annotations": {"not a key!": "x"}}
    fd = fd_plan.parse(doc)
    assert fd_plan._checked_wire(fd, 3) is None
    with pytest.raises(ValueError, match="annotation"):
        fd_plan.deployment(fd, 3)
