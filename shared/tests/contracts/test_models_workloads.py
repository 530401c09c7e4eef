"""Resource templates: Deployment, Service, Ingress, ConfigMap, Secret."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import workloads

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

DEPLOYMENT_FILE = "09-deployment-kurator-controller-manager.yaml"
FD_FILE = "06-federateddeployment-frontend.yaml"

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx", "tier": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "name": "http"}],
                        "resources": {
                            "requests": {"cpu": "250m", "memory": "64Mi"},
                            "limits": {"cpu": 1, "memory": "128Mi"},
                        },
                    }
                ]
            },
        },
    },
}


def test_seed_deployment_without_selector_is_accepted(example: Callable[..., dict[str, Any]]) -> None:
    doc = example(DEPLOYMENT_FILE)
    model = workloads.Deployment.model_validate(doc)
    assert model.spec.selector is None
    # Everything the seed wrote survives, including fields we do not model.
    assert model.to_wire()["spec"] == doc["spec"]


def test_completed_fills_selector_and_labels(example: Callable[..., dict[str, Any]]) -> None:
    model = workloads.Deployment.model_validate(example(DEPLOYMENT_FILE)).completed()
    wire = model.to_wire()
    assert wire["spec"]["selector"] == {"matchLabels": {"app": "kurator-controller-manager"}}
    assert wire["spec"]["template"]["metadata"]["labels"] == {"app": "kurator-controller-manager"}
    assert wire["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]  # untouched


def test_completed_copies_whichever_side_is_given(edit: Callable[..., dict[str, Any]]) -> None:
    only_labels = workloads.Deployment.model_validate(edit(DEPLOYMENT, ("spec.selector", ...))).completed()
    assert only_labels.spec.selector is not None
    assert only_labels.spec.selector.match_labels == {"app": "nginx", "tier": "web"}
    only_selector = workloads.Deployment.model_validate(edit(DEPLOYMENT, ("spec.template.metadata", ...))).completed()
    assert only_selector.spec.template.labels == {"app": "nginx"}


def test_deployment_valid() -> None:
    workloads.Deployment.model_validate(DEPLOYMENT)


_C = "spec.template.spec.containers[0]"

DEPLOYMENT_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("negative replicas", [("spec.replicas", -1)], [("spec.replicas", "FieldValueInvalid")]),
    ("no template", [("spec.template", ...)], [("spec.template", "FieldValueRequired")]),
    (
        "selector mismatch",
        [("spec.selector.matchLabels.app", "web")],
        [("spec.template.metadata.labels", "FieldValueInvalid")],
    ),
    ("empty selector", [("spec.selector", {})], [("spec.selector", "FieldValueInvalid")]),
    (
        "selector expression unmatched",
        [("spec.selector", {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]})],
        [("spec.template.metadata.labels", "FieldValueInvalid")],
    ),
    (
        "selector expression without values",
        [("spec.selector", {"matchExpressions": [{"key": "tier", "operator": "In"}]})],
        [("spec.selector.matchExpressions[0].values", "FieldValueRequired")],
    ),
    (
        "no containers",
        [("spec.template.spec.containers", [])],
        [("spec.template.spec.containers", "FieldValueRequired")],
    ),
    ("container without image", [(f"{_C}.image", ...)], [(f"{_C}.image", "FieldValueRequired")]),
    ("container without name", [(f"{_C}.name", ...)], [(f"{_C}.name", "FieldValueRequired")]),
    ("container name not a label", [(f"{_C}.name", "Nginx")], [(f"{_C}.name", "FieldValueInvalid")]),
    (
        "duplicate container",
        [("spec.template.spec.initContainers", [{"name": "nginx", "image": "busybox"}])],
        [("spec.template.spec.initContainers[0].name", "FieldValueDuplicate")],
    ),
    (
        "port out of range",
        [(f"{_C}.ports[0].containerPort", 70000)],
        [(f"{_C}.ports[0].containerPort", "FieldValueInvalid")],
    ),
    (
        "bad quantity",
        [(f"{_C}.resources.limits.memory", "128MB")],
        [(f"{_C}.resources.limits[memory]", "FieldValueInvalid")],
    ),
    (
        "negative quantity",
        [(f"{_C}.resources.requests.cpu", "-1")],
        [(f"{_C}.resources.requests[cpu]", "FieldValueInvalid")],
    ),
    (
        "request above limit",
        [(f"{_C}.resources.requests.cpu", "1500m")],
        [(f"{_C}.resources.requests[cpu]", "FieldValueInvalid")],
    ),
    (
        "template label value",
        [("spec.template.metadata.labels.tier", "front end")],
        [("spec.template.metadata.labels[tier]", "FieldValueInvalid")],
    ),
    (
        "node selector key",
        [("spec.template.spec.nodeSelector", {"-gpu": "true"})],
        [("spec.template.spec.nodeSelector[-gpu]", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in DEPLOYMENT_BROKEN], ids=[c[0] for c in DEPLOYMENT_BROKEN]
)
def test_deployment_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(workloads.Deployment, DEPLOYMENT, *edits) == expected


def test_seed_service_and_ingress(example: Callable[..., dict[str, Any]]) -> None:
    service = workloads.Service.model_validate(example(FD_FILE, 1))
    assert service.spec.selector == {"app": "frontend"}
    ingress = workloads.Ingress.model_validate(example(FD_FILE, 2))
    assert ingress.spec.rules is not None
    assert ingress.spec.rules[0].host == "frontend.example.com"


SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"name": "metrics", "port": 9090}],
    },
}

SERVICE_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no ports", [("spec.ports", ...)], [("spec.ports", "FieldValueRequired")]),
    ("port zero", [("spec.ports[0].port", 0)], [("spec.ports[0].port", "FieldValueInvalid")]),
    ("port too large", [("spec.ports[1].port", 65536)], [("spec.ports[1].port", "FieldValueInvalid")]),
    ("port without number", [("spec.ports[1].port", ...)], [("spec.ports[1].port", "FieldValueRequired")]),
    ("unnamed port among several", [("spec.ports[1].name", ...)], [("spec.ports[1].name", "FieldValueRequired")]),
    ("duplicate port names", [("spec.ports[1].name", "http")], [("spec.ports[1].name", "FieldValueDuplicate")]),
    ("target port number", [("spec.ports[1].targetPort", 0)], [("spec.ports[1].targetPort", "FieldValueInvalid")]),
    (
        "target port name",
        [("spec.ports[0].targetPort", "HTTP_PORT")],
        [("spec.ports[0].targetPort", "FieldValueInvalid")],
    ),
    ("protocol", [("spec.ports[0].protocol", "HTTP")], [("spec.ports[0].protocol", "FieldValueNotSupported")]),
    ("selector value", [("spec.selector.app", "web app")], [("spec.selector[app]", "FieldValueInvalid")]),
    ("type", [("spec.type", "Internal")], [("spec.type", "FieldValueNotSupported")]),
    ("external name missing", [("spec.type", "ExternalName")], [("spec.externalName", "FieldValueRequired")]),
    ("name starts with a digit", [("metadata.name", "1web")], [("metadata.name", "FieldValueInvalid")]),
]


def test_service_valid(edit: Callable[..., dict[str, Any]]) -> None:
    workloads.Service.model_validate(SERVICE)
    workloads.Service.model_validate(edit(SERVICE, ("spec.ports", ...), ("spec.clusterIP", "None")))


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in SERVICE_BROKEN], ids=[c[0] for c in SERVICE_BROKEN])
def test_service_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(workloads.Service, SERVICE, *edits) == expected


_P = "spec.rules[0].http.paths[0]"

INGRESS_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no rules or backend", [("spec.rules", ...)], [("spec.rules", "FieldValueRequired")]),
    ("path type enum", [(f"{_P}.pathType", "Regex")], [(f"{_P}.pathType", "FieldValueNotSupported")]),
    ("path type missing", [(f"{_P}.pathType", ...)], [(f"{_P}.pathType", "FieldValueRequired")]),
    ("relative path", [(f"{_P}.path", "api")], [(f"{_P}.path", "FieldValueInvalid")]),
    ("no paths", [("spec.rules[0].http.paths", [])], [("spec.rules[0].http.paths", "FieldValueInvalid")]),
    (
        "backend without service name",
        [(f"{_P}.backend.service.name", ...)],
        [(f"{_P}.backend.service.name", "FieldValueRequired")],
    ),
    (
        "port number and name",
        [(f"{_P}.backend.service.port.name", "http")],
        [(f"{_P}.backend.service.port.name", "FieldValueForbidden")],
    ),
    ("port neither", [(f"{_P}.backend.service.port", {})], [(f"{_P}.backend.service.port", "FieldValueRequired")]),
    (
        "port number range",
        [(f"{_P}.backend.service.port.number", 0)],
        [(f"{_P}.backend.service.port.number", "FieldValueInvalid")],
    ),
    ("empty backend", [(f"{_P}.backend", {})], [(f"{_P}.backend", "FieldValueRequired")]),
    (
        "host wildcard in the middle",
        [("spec.rules[0].host", "frontend.*.com")],
        [("spec.rules[0].host", "FieldValueInvalid")],
    ),
    ("host is an IP", [("spec.rules[0].host", "10.0.0.1")], [("spec.rules[0].host", "FieldValueInvalid")]),
]


def test_ingress_variants(example: Callable[..., dict[str, Any]], edit: Callable[..., dict[str, Any]]) -> None:
    doc = example(FD_FILE, 2)
    workloads.Ingress.model_validate(edit(doc, ("spec.rules[0].host", "*.example.com")))
    workloads.Ingress.model_validate(edit(doc, (f"{_P}.backend.service.port", {"name": "http"})))
    workloads.Ingress.model_validate(
        edit(doc, ("spec.rules", ...), ("spec.defaultBackend", {"service": {"name": "x", "port": {"number": 80}}}))
    )


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in INGRESS_BROKEN], ids=[c[0] for c in INGRESS_BROKEN])
def test_ingress_rejects(
    reject: Reject, example: Callable[..., dict[str, Any]], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(workloads.Ingress, example(FD_FILE, 2), *edits) == expected


CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "app-config"},
    "data": {"app.properties": "a=1", "LOG_LEVEL": "info"},
    "binaryData": {"logo.png": base64.b64encode(b"\x89PNG").decode()},
}
SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "type": "Opaque",
    "data": {"password": base64.b64encode(b"hunter2").decode()},
    "stringData": {"password": "override", "user": "admin"},
}


def test_configmap_and_secret_valid() -> None:
    cm = workloads.ConfigMap.model_validate(CONFIGMAP)
    assert cm.to_wire()["binaryData"] == CONFIGMAP["binaryData"]
    secret = workloads.Secret.model_validate(SECRET)
    assert secret.to_wire()["type"] == "Opaque"


@pytest.mark.parametrize(
    ("model", "doc", "edits", "expected"),
    [
        (workloads.ConfigMap, CONFIGMAP, [("data", {"bad/key": "x"})], [("data[bad/key]", "FieldValueInvalid")]),
        (workloads.ConfigMap, CONFIGMAP, [("data", {"..hidden": "x"})], [("data[..hidden]", "FieldValueInvalid")]),
        (
            workloads.ConfigMap,
            CONFIGMAP,
            [("data", {"logo.png": "x"})],
            [("binaryData[logo.png]", "FieldValueDuplicate")],
        ),
        (
            workloads.ConfigMap,
            CONFIGMAP,
            [("binaryData", {"blob": "not base64!"})],
            [("binaryData[blob]", "FieldValueInvalid")],
        ),
        (workloads.Secret, SECRET, [("data", {"password": "hunter2"})], [("data[password]", "FieldValueInvalid")]),
        (workloads.Secret, SECRET, [("stringData", {"a b": "x"})], [("stringData[a b]", "FieldValueInvalid")]),
    ],
    ids=[
        "configmap key",
        "configmap dotdot",
        "configmap duplicate",
        "binary not base64",
        "secret not base64",
        "secret key",
    ],
)
def test_configmap_and_secret_reject(
    reject: Reject, model: type[Any], doc: dict[str, Any], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(model, doc, *edits) == expected


def test_secret_rejection_never_echoes_the_value(edit: Callable[..., dict[str, Any]]) -> None:
    from pydantic import ValidationError

    from shared.contracts import validation

    with pytest.raises(ValidationError) as info:
        workloads.Secret.model_validate(edit(SECRET, ("data", {"password": "hunter2-plain"})))
    assert all("hunter2" not in r.message for r in validation.reasons_from(info.value))
