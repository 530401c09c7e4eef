"""The propagation contract (``fleet.kurator.dev/v1alpha1 Propagation``): routing and validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts import kinds
from shared.contracts.models import propagation

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "frontend", "labels": {"app": "frontend"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "frontend"}},
        "template": {
            "metadata": {"labels": {"app": "frontend"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    },
}

PROPAGATION: dict[str, Any] = {
    "apiVersion": "fleet.kurator.dev/v1alpha1",
    "kind": "Propagation",
    "metadata": {"name": "frontend", "namespace": "shop"},
    "spec": {
        "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": "shop", "name": "frontend"},
        "templates": [
            DEPLOYMENT,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "frontend", "namespace": "shop"},
                "spec": {"ports": [{"port": 80}], "selector": {"app": "frontend"}},
            },
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}},
        ],
        "placement": {
            "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
            "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"},
        },
        "propagateDeps": True,
    },
}


def test_routes_to_the_fleet_service() -> None:
    info = kinds.for_object("fleet.kurator.dev/v1alpha1", "Propagation")
    assert (info.service, info.token, info.plural, info.namespaced) == ("fleet", "propagation", "propagations", True)
    assert info.model is propagation.Propagation
    assert kinds.resolve_name("propagations") is info


def test_valid_and_templates_pass_through_whole() -> None:
    model = propagation.Propagation.model_validate(PROPAGATION)
    wire = model.to_wire()
    assert wire["spec"]["templates"] == PROPAGATION["spec"]["templates"]
    assert wire["spec"]["owner"] == PROPAGATION["spec"]["owner"]
    assert model.spec.placement.cluster_affinity is not None


BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no templates", [("spec.templates", [])], [("spec.templates", "FieldValueInvalid")]),
    ("no placement", [("spec.placement", ...)], [("spec.placement", "FieldValueRequired")]),
    ("no owner", [("spec.owner", ...)], [("spec.owner", "FieldValueRequired")]),
    ("unknown service", [("spec.owner.service", "billing")], [("spec.owner.service", "FieldValueNotSupported")]),
    ("bad owner kind", [("spec.owner.kind", "federated deployment")], [("spec.owner.kind", "FieldValueInvalid")]),
    (
        "template without name",
        [("spec.templates[0].metadata.name", ...)],
        [("spec.templates[0].metadata.name", "FieldValueRequired")],
    ),
    ("template without kind", [("spec.templates[3].kind", ...)], [("spec.templates[3].kind", "FieldValueRequired")]),
    (
        "template in another namespace",
        [("spec.templates[1].metadata.namespace", "other")],
        [("spec.templates[1].metadata.namespace", "FieldValueInvalid")],
    ),
    (
        "duplicate template",
        [("spec.templates[3]", {**DEPLOYMENT, "metadata": {"name": "frontend", "namespace": "shop"}})],
        [("spec.templates[3].metadata.name", "FieldValueDuplicate")],
    ),
    (
        "a known kind is validated with its model",
        [("spec.templates[0].spec.replicas", -1)],
        [("spec.templates[0].spec.replicas", "FieldValueInvalid")],
    ),
    (
        "a Karmada policy is not a template",
        [
            (
                "spec.templates[3]",
                {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "p"}},
            )
        ],
        [("spec.templates[3].apiVersion", "FieldValueForbidden")],
    ),
    (
        "placement rules are Karmada's",
        [("spec.placement.clusterAffinities", [{"affinityName": "a"}])],
        [("spec.placement.clusterAffinities", "FieldValueForbidden")],
    ),
    ("name longer than a label value", [("metadata.name", "p" * 64)], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("case", "edits", "expected"), BROKEN, ids=[c for c, _, _ in BROKEN])
def test_rejections_name_the_field(
    reject: Reject, case: str, edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(propagation.Propagation, PROPAGATION, *edits) == expected


def test_status_documents_redact_secret_templates() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"token": "c2VjcmV0"}}
    doc = {**PROPAGATION, "spec": {**PROPAGATION["spec"], "templates": [DEPLOYMENT, secret]}}
    public = propagation.Propagation.public_document(doc)
    assert public["spec"]["templates"][1]["data"] == {"token": "<redacted>"}
    assert public["spec"]["templates"][0] == DEPLOYMENT
    assert doc["spec"]["templates"][1]["data"] == {"token": "c2VjcmV0"}, "the original is untouched"
