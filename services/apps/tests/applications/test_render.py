"""Rendering Kurator Applications into Flux objects: names, shapes, destinations, rejections."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kurator_apps.applications import names, render
from kurator_apps.applications.members import HOST, FleetMember
from shared.errors import InvalidIntent

Obj = dict[str, Any]

# Upstream's examples/application/gitrepo-kustomization-demo.yaml.
GIT_APP: Obj = {
    "apiVersion": "apps.kurator.dev/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "gitrepo-kustomization-demo", "namespace": "default", "uid": "9f1c"},
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
                "destination": {"fleet": "quickstart"},
                "kustomization": {
                    "targetNamespace": "default",
                    "interval": "5m0s",
                    "path": "./kustomize",
                    "prune": True,
                    "timeout": "2m0s",
                },
            },
        ],
    },
}

# Upstream's examples/application/helm-demo.yaml.
HELM_APP: Obj = {
    "apiVersion": "apps.kurator.dev/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "helm-demo", "namespace": "default"},
    "spec": {
        "source": {"helmRepository": {"interval": "5m", "url": "https://stefanprodan.github.io/podinfo"}},
        "syncPolicies": [
            {
                "destination": {"fleet": "quickstart", "clusterSelector": {"matchLabels": {"env": "prod"}}},
                "helm": {
                    "releaseName": "podinfo",
                    "chart": {"spec": {"chart": "podinfo", "version": "6.x"}},
                    "interval": "50m",
                    "install": {"remediation": {"retries": 3}},
                    "values": {"redis": {"enabled": True}},
                },
            }
        ],
    },
}

MEMBERS = [
    FleetMember("kurator-member1", "AttachedCluster", {"env": "prod"}, "kurator-member1", "kurator-member1.config"),
    FleetMember("kurator-member2", "AttachedCluster", {"env": "test"}, "kurator-member2", "kurator-member2.config"),
]

# Required fields of the Flux CRDs (no CRD in ../shared/crds, so checked by hand).
_REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "GitRepository": [("url",), ("interval",)],
    "HelmRepository": [("url",), ("interval",)],
    "OCIRepository": [("url",), ("interval",)],
    "Kustomization": [("interval",), ("prune",), ("sourceRef", "kind"), ("sourceRef", "name")],
    "HelmRelease": [("interval",), ("chart", "spec", "chart"), ("chart", "spec", "sourceRef", "kind")],
}
_API_VERSIONS = {
    "GitRepository": "source.toolkit.fluxcd.io/v1beta2",
    "HelmRepository": "source.toolkit.fluxcd.io/v1beta2",
    "OCIRepository": "source.toolkit.fluxcd.io/v1beta2",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1beta2",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2beta1",
}


def _check_flux_shape(obj: Obj) -> None:
    assert obj["apiVersion"] == _API_VERSIONS[obj["kind"]]
    assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
    name = obj["metadata"]["name"]
    assert len(name) <= 63
    assert name == name.lower()
    assert name[-1].isalnum()
    for path in _REQUIRED[obj["kind"]]:
        node: Any = obj["spec"]
        for key in path:
            assert key in node, f"{obj['kind']} spec lacks {'.'.join(path)}"
            node = node[key]
    kube_config = obj["spec"].get("kubeConfig")
    if kube_config is not None:
        assert set(kube_config) == {"secretRef"}
        assert set(kube_config["secretRef"]) == {"name", "key"}


def _render(doc: Obj, members: list[FleetMember] = MEMBERS) -> render.Rendering:
    result = render.render(render.parse(doc), members=members)
    _check_flux_shape(result.source)
    for delivery in result.deliveries:
        _check_flux_shape(delivery.object)
    return result


def _rejected(doc: Obj, members: list[FleetMember] = MEMBERS) -> list[tuple[str, str]]:
    with pytest.raises(InvalidIntent) as info:
        render.render(render.parse(doc), members=members)
    return [(r.field, r.reason) for r in info.value.reasons]


def test_git_source_with_kustomizations_for_every_member() -> None:
    result = _render(copy.deepcopy(GIT_APP))
    labels = {"apps.kurator.dev/app-name": "gitrepo-kustomization-demo", "app.kubernetes.io/managed-by": "kurator-apps"}
    assert result.source == {
        "apiVersion": "source.toolkit.fluxcd.io/v1beta2",
        "kind": "GitRepository",
        "metadata": {
            "name": "gitrepo-kustomization-demo",
            "labels": labels,
            "namespace": "default",
        },
        "spec": GIT_APP["spec"]["source"]["gitRepository"],
    }
    assert [(d.policy, d.cluster, d.kind, d.name) for d in result.deliveries] == [
        (
            "gitrepo-kustomization-demo-0",
            "kurator-member1",
            "Kustomization",
            "gitrepo-kustomization-demo-0-attachedcluster-kurator-member1",
        ),
        (
            "gitrepo-kustomization-demo-0",
            "kurator-member2",
            "Kustomization",
            "gitrepo-kustomization-demo-0-attachedcluster-kurator-member2",
        ),
        (
            "gitrepo-kustomization-demo-1",
            "kurator-member1",
            "Kustomization",
            "gitrepo-kustomization-demo-1-attachedcluster-kurator-member1",
        ),
        (
            "gitrepo-kustomization-demo-1",
            "kurator-member2",
            "Kustomization",
            "gitrepo-kustomization-demo-1-attachedcluster-kurator-member2",
        ),
    ]
    first = result.deliveries[0].object
    assert first["metadata"]["labels"] == labels
    assert first["metadata"]["namespace"] == "default"
    # No ownerReference: the Application is not in the API server, whose GC would collect them.
    assert "ownerReferences" not in first["metadata"]
    assert first["spec"] == {
        "interval": "5m0s",
        "path": "./deploy/webapp",
        "prune": True,
        "timeout": "2m0s",
        "sourceRef": {"kind": "GitRepository", "name": "gitrepo-kustomization-demo"},
        "kubeConfig": {"secretRef": {"name": "kurator-member1", "key": "kurator-member1.config"}},
    }
    assert result.deliveries[2].object["spec"]["targetNamespace"] == "default"
    assert result.unmatched == ()


def test_helm_source_with_a_release_on_the_selected_members() -> None:
    result = _render(copy.deepcopy(HELM_APP))
    assert result.source["kind"] == "HelmRepository"
    (delivery,) = result.deliveries
    assert (delivery.cluster, delivery.name) == ("kurator-member1", "helm-demo-0-attachedcluster-kurator-member1")
    assert delivery.object["apiVersion"] == "helm.toolkit.fluxcd.io/v2beta1"
    assert delivery.object["spec"] == {
        "releaseName": "podinfo",
        "chart": {
            "spec": {"chart": "podinfo", "version": "6.x", "sourceRef": {"kind": "HelmRepository", "name": "helm-demo"}}
        },
        "interval": "50m",
        "install": {"remediation": {"retries": 3}},
        "values": {"redis": {"enabled": True}},
        "kubeConfig": {"secretRef": {"name": "kurator-member1", "key": "kurator-member1.config"}},
    }


def test_helm_chart_from_a_git_repository() -> None:
    doc = copy.deepcopy(HELM_APP)
    doc["spec"]["source"] = {"gitRepository": {"interval": "1m", "url": "ssh://git@example.com/charts.git"}}
    doc["spec"]["syncPolicies"][0]["helm"]["chart"] = {"spec": {"chart": "./charts/podinfo"}}
    (delivery,) = _render(doc).deliveries
    assert delivery.object["spec"]["chart"]["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "helm-demo"}


def test_oci_source_with_a_kustomization() -> None:
    doc = copy.deepcopy(GIT_APP)
    doc["spec"]["source"] = {
        "ociRepository": {"interval": "10m", "url": "oci://ghcr.io/stefanprodan/manifests/podinfo"}
    }
    result = _render(doc)
    assert result.source["kind"] == "OCIRepository"
    assert result.deliveries[0].object["spec"]["sourceRef"] == {
        "kind": "OCIRepository",
        "name": "gitrepo-kustomization-demo",
    }


def test_no_destination_deploys_to_the_host() -> None:
    doc = copy.deepcopy(GIT_APP)
    for policy in doc["spec"]["syncPolicies"]:
        del policy["destination"]
    result = _render(doc)
    assert [(d.cluster, d.cluster_kind, d.name) for d in result.deliveries] == [
        ("host", "currentCluster", "gitrepo-kustomization-demo-0-currentcluster-host"),
        ("host", "currentCluster", "gitrepo-kustomization-demo-1-currentcluster-host"),
    ]
    assert all("kubeConfig" not in d.object["spec"] for d in result.deliveries)
    assert HOST.secret_name is None


def test_a_policy_destination_overrides_the_application_destination() -> None:
    doc = copy.deepcopy(GIT_APP)
    doc["spec"]["destination"] = {"fleet": "quickstart", "clusterSelector": {"matchLabels": {"env": "prod"}}}
    del doc["spec"]["syncPolicies"][0]["destination"]
    doc["spec"]["syncPolicies"][1]["destination"]["clusterSelector"] = {"matchLabels": {"env": "test"}}
    doc["spec"]["syncPolicies"][1]["name"] = "webapp"
    result = _render(doc)
    assert [(d.policy, d.cluster) for d in result.deliveries] == [
        ("gitrepo-kustomization-demo-0", "kurator-member1"),
        ("webapp", "kurator-member2"),
    ]
    assert result.deliveries[1].name == "webapp-attachedcluster-kurator-member2"


def test_a_selector_that_matches_nothing() -> None:
    doc = copy.deepcopy(HELM_APP)
    doc["spec"]["syncPolicies"][0]["destination"]["clusterSelector"] = {"matchLabels": {"env": "staging"}}
    result = _render(doc)
    assert result.deliveries == ()
    assert result.unmatched == ("helm-demo-0",)


def test_cluster_kinds_in_names() -> None:
    members = [FleetMember("aws-1", "Cluster", {}, "aws-1-kubeconfig")]
    (first, _) = _render(copy.deepcopy(GIT_APP), members).deliveries
    assert first.name == "gitrepo-kustomization-demo-0-cluster-aws-1"
    assert first.object["spec"]["kubeConfig"] == {"secretRef": {"name": "aws-1-kubeconfig", "key": "value"}}


def test_delivery_names_are_truncated_to_63_and_end_alphanumeric() -> None:
    assert names.delivery_name("p", "AttachedCluster", "c") == "p-attachedcluster-c"
    long = names.delivery_name("a" * 46, "AttachedCluster", "member")
    assert long == "a" * 46 + "-attachedcluster"  # cut at 63 ('...cluster-'), the dangling '-' trimmed
    assert len(names.delivery_name("x" * 80, "Cluster", "y")) == 63


def test_deliveries_whose_names_collide_are_rejected() -> None:
    doc = copy.deepcopy(GIT_APP)
    # Both policies' names, and so all four deliveries', share their first 63 characters.
    doc["spec"]["syncPolicies"][0]["name"] = "a" * 70 + "-one"
    doc["spec"]["syncPolicies"][1]["name"] = "a" * 70 + "-two"
    assert _rejected(doc) == [
        ("spec.syncPolicies[0].name", "FieldValueDuplicate"),
        ("spec.syncPolicies[1].name", "FieldValueDuplicate"),
        ("spec.syncPolicies[1].name", "FieldValueDuplicate"),
    ]


def test_status_skeleton() -> None:
    status = _render(copy.deepcopy(HELM_APP)).status()
    assert status == {
        "phase": "Pending",
        "sourceStatus": {"kind": "HelmRepository", "name": "helm-demo", "ready": "Unknown"},
        "syncStatus": [
            {
                "name": "helm-demo-0-attachedcluster-kurator-member1",
                "kind": "HelmRelease",
                "policy": "helm-demo-0",
                "cluster": "kurator-member1",
                "clusterKind": "AttachedCluster",
                "ready": "Unknown",
                "message": "waiting for the HelmRelease",
            }
        ],
    }


def test_members_from_upstream_objects() -> None:
    attached: Obj = {
        "apiVersion": "cluster.kurator.dev/v1alpha1",
        "kind": "AttachedCluster",
        "metadata": {"name": "kurator-member1", "labels": {"env": "prod"}},
        "spec": {"kubeconfig": {"name": "kurator-member1", "key": "kurator-member1.config"}},
    }
    assert FleetMember.from_attached_cluster(attached) == MEMBERS[0]
    del attached["spec"]["kubeconfig"]["key"]
    assert FleetMember.from_attached_cluster(attached).secret_key == "value"
    cluster = {"metadata": {"name": "aws-1"}, "spec": {"credential": {"secretRef": "aws-creds"}}}
    assert FleetMember.from_cluster(cluster) == FleetMember("aws-1", "Cluster", {}, "aws-creds", "value")


BROKEN: list[tuple[str, Obj, Any, list[tuple[str, str]]]] = [
    (
        "kustomization from a Helm repository",
        GIT_APP,
        lambda d: d["spec"].update(source={"helmRepository": {"interval": "5m", "url": "https://charts.example.com"}}),
        [
            ("spec.syncPolicies[0].kustomization", "FieldValueForbidden"),
            ("spec.syncPolicies[1].kustomization", "FieldValueForbidden"),
        ],
    ),
    (
        "helm release from an OCI repository",
        HELM_APP,
        lambda d: d["spec"].update(source={"ociRepository": {"interval": "5m", "url": "oci://ghcr.io/x/y"}}),
        [("spec.syncPolicies[0].helm", "FieldValueForbidden")],
    ),
    (
        "helm release without a chart",
        HELM_APP,
        lambda d: d["spec"]["syncPolicies"][0]["helm"].pop("chart"),
        [("spec.syncPolicies[0].helm.chart.spec.chart", "FieldValueRequired")],
    ),
    (
        "Helm repository without an interval",
        HELM_APP,
        lambda d: d["spec"]["source"]["helmRepository"].pop("interval"),
        [("spec.source.helmRepository.interval", "FieldValueRequired")],
    ),
    (
        "two fleets",
        GIT_APP,
        lambda d: d["spec"]["syncPolicies"][1]["destination"].update(fleet="other"),
        [("spec.syncPolicies[1].destination.fleet", "FieldValueInvalid")],
    ),
    (
        "two sources",
        GIT_APP,
        lambda d: d["spec"]["source"].update(helmRepository={"interval": "5m", "url": "https://x.example.com"}),
        [("spec.source.helmRepository", "FieldValueForbidden")],
    ),
    (
        "kustomization and helm in one policy",
        HELM_APP,
        lambda d: d["spec"]["syncPolicies"][0].update(kustomization={"interval": "1m", "prune": True}),
        [("spec.syncPolicies[0].helm", "FieldValueForbidden")],
    ),
    (
        "no sync policies",
        HELM_APP,
        lambda d: d["spec"].update(syncPolicies=[]),
        [("spec.syncPolicies", "FieldValueRequired")],
    ),
    (
        "duplicate policy names after defaulting",
        GIT_APP,
        lambda d: d["spec"]["syncPolicies"][1].update(name="gitrepo-kustomization-demo-0"),
        [("spec.syncPolicies[1].name", "FieldValueDuplicate")],
    ),
    (
        "kustomization without prune",
        GIT_APP,
        lambda d: d["spec"]["syncPolicies"][0]["kustomization"].pop("prune"),
        [("spec.syncPolicies[0].kustomization.prune", "FieldValueRequired")],
    ),
]


@pytest.mark.parametrize(("base", "change", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_variants_are_rejected_naming_the_field(base: Obj, change: Any, expected: list[tuple[str, str]]) -> None:
    doc = copy.deepcopy(base)
    change(doc)
    assert _rejected(doc) == expected
