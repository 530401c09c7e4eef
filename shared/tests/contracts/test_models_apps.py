"""Kurator application kinds: FederatedDeployment and Application."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import apps

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

FD_FILE = "06-federateddeployment-frontend.yaml"

BY_SELECTOR: dict[str, Any] = {
    "apiVersion": "apps.kurator.dev/v1alpha1",
    "kind": "FederatedDeployment",
    "metadata": {"name": "api", "namespace": "shop"},
    "spec": {
        "template": {
            "metadata": {"labels": {"team": "shop"}},
            "spec": {
                "replicas": 10,
                "template": {"spec": {"containers": [{"name": "api", "image": "shop/api:2.0"}]}},
            },
        },
        "placement": {
            "clusterSelector": {"matchLabels": {"environment": "production"}},
            "weights": [
                {"clusterSelector": {"matchLabels": {"region": "east-china"}}, "weight": 3},
                {"names": ["cluster-beijing"], "weight": 1},
            ],
        },
    },
}


def test_seed_federated_deployment(example: Callable[..., dict[str, Any]]) -> None:
    model = apps.FederatedDeployment.model_validate(example(FD_FILE))
    assert model.spec.placement.explicit_replicas == {"cluster-beijing": 2, "cluster-shanghai": 1}
    assert model.spec.template.spec.replicas == 3
    assert model.spec.template.spec.template.labels == {"app": "frontend"}


def test_placement_by_selector_and_weights() -> None:
    model = apps.FederatedDeployment.model_validate(BY_SELECTOR)
    assert model.spec.placement.explicit_replicas is None
    assert model.spec.placement.weights is not None
    assert [w.weight for w in model.spec.placement.weights] == [3, 1]


def test_placement_variants(example: Callable[..., dict[str, Any]], edit: Callable[..., dict[str, Any]]) -> None:
    seed = example(FD_FILE)
    # No replicas on any cluster: each cluster runs template.spec.replicas.
    model = apps.FederatedDeployment.model_validate(
        edit(seed, ("spec.placement.clusters", [{"name": "cluster-beijing"}, {"name": "cluster-shanghai"}]))
    )
    assert model.spec.placement.explicit_replicas is None
    # Template without replicas: the clusters' counts stand alone.
    apps.FederatedDeployment.model_validate(edit(seed, ("spec.template.spec.replicas", ...)))
    # Selector without weights (duplicated to every selected cluster).
    apps.FederatedDeployment.model_validate(edit(BY_SELECTOR, ("spec.placement.weights", ...)))


_T = "spec.template.spec"
_CL = "spec.placement.clusters"

FD_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no placement", [("spec.placement", ...)], [("spec.placement", "FieldValueRequired")]),
    ("no template", [("spec.template", ...)], [("spec.template", "FieldValueRequired")]),
    ("empty placement", [("spec.placement", {})], [("spec.placement", "FieldValueRequired")]),
    (
        "clusters and selector",
        [("spec.placement.clusterSelector", {"matchLabels": {"a": "b"}})],
        [("spec.placement.clusterSelector", "FieldValueForbidden")],
    ),
    ("empty cluster list", [(_CL, [])], [(_CL, "FieldValueRequired")]),
    ("duplicate cluster", [(f"{_CL}[1].name", "cluster-beijing")], [(f"{_CL}[1].name", "FieldValueDuplicate")]),
    ("cluster name not a label", [(f"{_CL}[0].name", "Cluster_Beijing")], [(f"{_CL}[0].name", "FieldValueInvalid")]),
    ("cluster name too long", [(f"{_CL}[0].name", "c" * 49)], [(f"{_CL}[0].name", "FieldValueInvalid")]),
    ("cluster without name", [(f"{_CL}[0].name", ...)], [(f"{_CL}[0].name", "FieldValueRequired")]),
    ("negative replicas", [(f"{_CL}[0].replicas", -1)], [(f"{_CL}[0].replicas", "FieldValueInvalid")]),
    ("replicas on some clusters only", [(f"{_CL}[1].replicas", ...)], [(f"{_CL}[1].replicas", "FieldValueRequired")]),
    ("replicas do not add up", [(f"{_CL}[0].replicas", 5)], [(_CL, "FieldValueInvalid")]),
    (
        "weights with clusters",
        [("spec.placement.weights", [{"names": ["cluster-beijing"], "weight": 1}])],
        [("spec.placement.weights", "FieldValueForbidden")],
    ),
    ("template replicas negative", [(f"{_T}.replicas", -3)], [(f"{_T}.replicas", "FieldValueInvalid")]),
    (
        "selector does not match labels",
        [(f"{_T}.selector.matchLabels.app", "backend")],
        [(f"{_T}.template.metadata.labels", "FieldValueInvalid")],
    ),
    (
        "container without image",
        [(f"{_T}.template.spec.containers[0].image", ...)],
        [(f"{_T}.template.spec.containers[0].image", "FieldValueRequired")],
    ),
    (
        "container without name",
        [(f"{_T}.template.spec.containers[0].name", "")],
        [(f"{_T}.template.spec.containers[0].name", "FieldValueRequired")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in FD_BROKEN], ids=[c[0] for c in FD_BROKEN])
def test_federated_deployment_rejects(
    reject: Reject, example: Callable[..., dict[str, Any]], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(apps.FederatedDeployment, example(FD_FILE), *edits) == expected


_W = "spec.placement.weights"

FD_SELECTOR_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("weight zero", [(f"{_W}[0].weight", 0)], [(f"{_W}[0].weight", "FieldValueInvalid")]),
    ("weight missing", [(f"{_W}[1].weight", ...)], [(f"{_W}[1].weight", "FieldValueRequired")]),
    (
        "weight rule with both",
        [(f"{_W}[1].clusterSelector", {"matchLabels": {"a": "b"}})],
        [(f"{_W}[1].clusterSelector", "FieldValueForbidden")],
    ),
    ("weight rule with neither", [(f"{_W}[1].names", ...)], [(f"{_W}[1]", "FieldValueRequired")]),
    ("weight rule name", [(f"{_W}[1].names", ["Beijing!"])], [(f"{_W}[1].names[0]", "FieldValueInvalid")]),
    (
        "selector label",
        [("spec.placement.clusterSelector.matchLabels", {"environment": "prod env"})],
        [("spec.placement.clusterSelector.matchLabels[environment]", "FieldValueInvalid")],
    ),
    (
        "template label",
        [("spec.template.metadata.labels", {"team": "-shop"})],
        [("spec.template.metadata.labels[team]", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in FD_SELECTOR_BROKEN], ids=[c[0] for c in FD_SELECTOR_BROKEN]
)
def test_federated_deployment_selector_rejects(
    reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(apps.FederatedDeployment, BY_SELECTOR, *edits) == expected


# kurator-upstream.md 3.1/3.2: a Git source, one kustomization and one helm policy on one fleet.
APPLICATION: dict[str, Any] = {
    "apiVersion": "apps.kurator.dev/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "gitrepo-kustomization-demo", "namespace": "default"},
    "spec": {
        "source": {
            "gitRepository": {
                "interval": "3m0s",
                "ref": {"branch": "master"},
                "timeout": "1m0s",
                "url": "https://github.com/stefanprodan/podinfo",
            }
        },
        "syncPolicies": [
            {
                "destination": {"fleet": "quickstart"},
                "kustomization": {"interval": "5m0s", "path": "./deploy/webapp", "prune": True, "timeout": "2m0s"},
            },
            {
                "destination": {"fleet": "quickstart", "clusterSelector": {"matchLabels": {"env": "test"}}},
                "helm": {"interval": "1m", "chart": {"spec": {"chart": "podinfo"}}, "values": {"replicaCount": 2}},
            },
        ],
    },
}


def test_application_valid(edit: Callable[..., dict[str, Any]]) -> None:
    model = apps.Application.model_validate(APPLICATION)
    assert model.spec.fleet == "quickstart"
    assert model.policy_names() == ["gitrepo-kustomization-demo-0", "gitrepo-kustomization-demo-1"]
    # Flux fields we do not model survive.
    assert model.to_wire()["spec"]["source"]["gitRepository"]["ref"] == {"branch": "master"}
    assert model.to_wire()["spec"]["syncPolicies"][1]["helm"]["values"] == {"replicaCount": 2}
    host_only = apps.Application.model_validate(
        edit(APPLICATION, ("spec.syncPolicies[0].destination", ...), ("spec.syncPolicies[1].destination", ...))
    )
    assert host_only.spec.fleet is None


_SP = "spec.syncPolicies"

APPLICATION_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no source", [("spec.source", ...)], [("spec.source", "FieldValueRequired")]),
    ("empty source", [("spec.source", {})], [("spec.source", "FieldValueRequired")]),
    (
        "two sources",
        [("spec.source.helmRepository", {"url": "https://charts.example.com"})],
        [("spec.source.helmRepository", "FieldValueForbidden")],
    ),
    (
        "git url scheme",
        [("spec.source.gitRepository.url", "github.com/stefanprodan/podinfo")],
        [("spec.source.gitRepository.url", "FieldValueInvalid")],
    ),
    (
        "git interval missing",
        [("spec.source.gitRepository.interval", ...)],
        [("spec.source.gitRepository.interval", "FieldValueRequired")],
    ),
    (
        "oci url scheme",
        [("spec.source", {"ociRepository": {"url": "https://ghcr.io/x", "interval": "1m"}})],
        [("spec.source.ociRepository.url", "FieldValueInvalid")],
    ),
    ("no sync policies", [(_SP, ...)], [(_SP, "FieldValueRequired")]),
    ("empty sync policies", [(_SP, [])], [(_SP, "FieldValueRequired")]),
    ("policy with neither", [(f"{_SP}[0].kustomization", ...)], [(f"{_SP}[0]", "FieldValueRequired")]),
    (
        "policy with both",
        [(f"{_SP}[1].kustomization", {"interval": "1m", "prune": True})],
        [(f"{_SP}[1].helm", "FieldValueForbidden")],
    ),
    (
        "kustomization without prune",
        [(f"{_SP}[0].kustomization.prune", ...)],
        [(f"{_SP}[0].kustomization.prune", "FieldValueRequired")],
    ),
    (
        "kustomization without interval",
        [(f"{_SP}[0].kustomization.interval", ...)],
        [(f"{_SP}[0].kustomization.interval", "FieldValueRequired")],
    ),
    (
        "kustomization interval in days",
        [(f"{_SP}[0].kustomization.interval", "1d")],
        [(f"{_SP}[0].kustomization.interval", "FieldValueInvalid")],
    ),
    ("helm without interval", [(f"{_SP}[1].helm.interval", ...)], [(f"{_SP}[1].helm.interval", "FieldValueRequired")]),
    (
        "second fleet",
        [(f"{_SP}[1].destination.fleet", "other")],
        [(f"{_SP}[1].destination.fleet", "FieldValueInvalid")],
    ),
    (
        "fleet differs from spec.destination",
        [("spec.destination", {"fleet": "main"})],
        [(f"{_SP}[0].destination.fleet", "FieldValueInvalid"), (f"{_SP}[1].destination.fleet", "FieldValueInvalid")],
    ),
    (
        "destination without fleet",
        [(f"{_SP}[0].destination", {})],
        [(f"{_SP}[0].destination.fleet", "FieldValueRequired")],
    ),
    (
        "cluster selector label",
        [(f"{_SP}[1].destination.clusterSelector.matchLabels", {"env": "a b"})],
        [(f"{_SP}[1].destination.clusterSelector.matchLabels[env]", "FieldValueInvalid")],
    ),
    (
        "duplicate policy names",
        [(f"{_SP}[0].name", "web"), (f"{_SP}[1].name", "web")],
        [(f"{_SP}[1].name", "FieldValueDuplicate")],
    ),
    (
        "name clashes with a default",
        [(f"{_SP}[1].name", "gitrepo-kustomization-demo-0")],
        [(f"{_SP}[1].name", "FieldValueDuplicate")],
    ),
    # Combinations Flux would refuse once rendered.
    (
        "kustomization over a Helm repository",
        [("spec.source", {"helmRepository": {"url": "https://charts.example.com", "interval": "5m"}})],
        [(f"{_SP}[0].kustomization", "FieldValueForbidden")],
    ),
    (
        "helm over an OCI repository",
        [("spec.source", {"ociRepository": {"url": "oci://ghcr.io/x", "interval": "5m"}})],
        [(f"{_SP}[1].helm", "FieldValueForbidden")],
    ),
    (
        "helm without a chart",
        [(f"{_SP}[1].helm.chart", ...)],
        [(f"{_SP}[1].helm.chart.spec.chart", "FieldValueRequired")],
    ),
    (
        "Helm repository without an interval",
        [("spec.source", {"helmRepository": {"url": "https://charts.example.com"}}), (f"{_SP}[0]", ...)],
        [("spec.source.helmRepository.interval", "FieldValueRequired")],
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in APPLICATION_BROKEN], ids=[c[0] for c in APPLICATION_BROKEN]
)
def test_application_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(apps.Application, APPLICATION, *edits) == expected
