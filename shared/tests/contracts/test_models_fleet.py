"""Kurator Fleet and AttachedCluster models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import fleet

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

FLEET: dict[str, Any] = {
    "apiVersion": "fleet.kurator.dev/v1alpha1",
    "kind": "Fleet",
    "metadata": {
        "name": "quickstart",
        "namespace": "default",
        "annotations": {"fleet.kurator.dev/controlplane": "karmada"},
    },
    "spec": {
        "clusters": [{"name": "kurator-member1", "kind": "AttachedCluster"}, {"name": "aws-cluster"}],
        "plugin": {
            "metric": {"thanos": {"objectStoreConfig": {"secretName": "thanos-objstore"}}},
            "backup": {"storage": {"location": {"bucket": "velero", "provider": "aws"}, "secretName": "s3"}},
        },
    },
}

ATTACHED: dict[str, Any] = {
    "apiVersion": "cluster.kurator.dev/v1alpha1",
    "kind": "AttachedCluster",
    "metadata": {"name": "kurator-member1", "namespace": "default"},
    "spec": {"kubeconfig": {"name": "kurator-member1", "key": "kurator-member1.config"}},
}


def test_fleet_valid_and_plugin_passes_through() -> None:
    model = fleet.Fleet.model_validate(FLEET)
    assert [(c.kind, c.name) for c in model.spec.clusters] == [
        ("AttachedCluster", "kurator-member1"),
        ("Cluster", "aws-cluster"),
    ]
    assert model.to_wire()["spec"]["plugin"] == FLEET["spec"]["plugin"]


def test_fleet_empty_kind_means_cluster(edit: Callable[..., dict[str, Any]]) -> None:
    model = fleet.Fleet.model_validate(edit(FLEET, ("spec.clusters[1].kind", "")))
    assert model.spec.clusters[1].kind == "Cluster"


FLEET_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no clusters", [("spec.clusters", ...)], [("spec.clusters", "FieldValueRequired")]),
    ("cluster without name", [("spec.clusters[0].name", ...)], [("spec.clusters[0].name", "FieldValueRequired")]),
    (
        "unsupported kind",
        [("spec.clusters[0].kind", "CustomCluster")],
        [("spec.clusters[0].kind", "FieldValueNotSupported")],
    ),
    (
        "duplicate member",
        [("spec.clusters[1]", {"name": "kurator-member1", "kind": "AttachedCluster"})],
        [("spec.clusters[1].name", "FieldValueDuplicate")],
    ),
    (
        "invalid member name",
        [("spec.clusters[1].name", "AWS Cluster")],
        [("spec.clusters[1].name", "FieldValueInvalid")],
    ),
    ("name longer than a label value", [("metadata.name", "f" * 64)], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in FLEET_BROKEN], ids=[c[0] for c in FLEET_BROKEN])
def test_fleet_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(fleet.Fleet, FLEET, *edits) == expected


def test_attached_cluster_key_defaults_to_value(edit: Callable[..., dict[str, Any]]) -> None:
    assert fleet.AttachedCluster.model_validate(ATTACHED).spec.kubeconfig.key == "kurator-member1.config"
    model = fleet.AttachedCluster.model_validate(edit(ATTACHED, ("spec.kubeconfig.key", ...)))
    assert model.spec.kubeconfig.key == "value"


ATTACHED_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no kubeconfig", [("spec.kubeconfig", ...)], [("spec.kubeconfig", "FieldValueRequired")]),
    ("no secret name", [("spec.kubeconfig.name", ...)], [("spec.kubeconfig.name", "FieldValueRequired")]),
    ("empty secret name", [("spec.kubeconfig.name", "")], [("spec.kubeconfig.name", "FieldValueRequired")]),
    ("empty key", [("spec.kubeconfig.key", "")], [("spec.kubeconfig.key", "FieldValueRequired")]),
    ("invalid key", [("spec.kubeconfig.key", "kube/config")], [("spec.kubeconfig.key", "FieldValueInvalid")]),
    ("invalid secret name", [("spec.kubeconfig.name", "Member_1")], [("spec.kubeconfig.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in ATTACHED_BROKEN], ids=[c[0] for c in ATTACHED_BROKEN])
def test_attached_cluster_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(fleet.AttachedCluster, ATTACHED, *edits) == expected
