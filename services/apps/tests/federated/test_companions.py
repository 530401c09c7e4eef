"""Which Services, Ingresses, ConfigMaps and Secrets applied with a FederatedDeployment follow it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from kurator_apps.federated import companions
from kurator_apps.federated import plan as fd_plan

Obj = dict[str, Any]
ToModel = Callable[[Obj], Any]

POD_SPEC: Obj = {
    "containers": [
        {
            "name": "web",
            "image": "nginx",
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "a"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "b"}}},
                {"name": "C", "value": "plain"},
            ],
            "envFrom": [{"configMapRef": {"name": "bulk-cm"}}, {"secretRef": {"name": "bulk-secret"}}],
        }
    ],
    "initContainers": [
        {"name": "init", "image": "busybox", "envFrom": [{"configMapRef": {"name": "init-cm"}}]},
    ],
    "volumes": [
        {"name": "conf", "configMap": {"name": "vol-cm"}},
        {"name": "certs", "secret": {"secretName": "vol-secret"}},
        {
            "name": "all",
            "projected": {"sources": [{"configMap": {"name": "proj-cm"}}, {"secret": {"name": "proj-secret"}}]},
        },
        {"name": "scratch", "emptyDir": {}},
    ],
    "imagePullSecrets": [{"name": "registry"}],
}


def test_pod_references() -> None:
    refs = companions.pod_references(POD_SPEC)
    assert refs.config_maps == {"env-cm", "bulk-cm", "init-cm", "vol-cm", "proj-cm"}
    assert refs.secrets == {"env-secret", "bulk-secret", "vol-secret", "proj-secret", "registry"}
    assert companions.pod_references({"containers": []}) == companions.References(frozenset(), frozenset())


def _meta(name: str, namespace: str | None = None) -> Obj:
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def _service(name: str, selector: dict[str, str] | None, namespace: str | None = None) -> Obj:
    spec: Obj = {"ports": [{"port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace), "spec": spec}


def _ingress(name: str, backend: str, tls_secret: str | None = None) -> Obj:
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": backend, "port": {"number": 80}}}}
    spec: Obj = {"rules": [{"host": f"{name}.example.com", "http": {"paths": [path]}}]}
    if tls_secret:
        spec["tls"] = [{"hosts": [f"{name}.example.com"], "secretName": tls_secret}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta(name), "spec": spec}


def _config_map(name: str, namespace: str | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, namespace), "data": {"k": "v"}}


def _secret(name: str) -> Obj:
    data = {"k": base64.b64encode(b"v").decode()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name), "data": data}


def test_find(to_model: ToModel) -> None:
    applied = [
        to_model(d)
        for d in (
            _service("web", {"app": "web"}),
            _service("web-canary", {"app": "web", "track": "canary"}),  # needs a label the pods lack
            _service("headless-external", None),  # selects nothing
            _service("web-elsewhere", {"app": "web"}, namespace="other"),
            _ingress("web", "web", tls_secret="web-tls"),
            _ingress("docs", "docs-service"),
            _config_map("vol-cm"),
            _config_map("unrelated"),
            _config_map("env-cm", namespace="other"),
            _secret("env-secret"),
            _secret("web-tls"),
        )
    ]
    found = companions.find(
        namespace=None, pod_labels={"app": "web", "tier": "front"}, pod_spec=POD_SPEC, applied=applied
    )
    assert [s.metadata.name for s in found.services] == ["web"]
    assert [i.metadata.name for i in found.ingresses] == ["web"]
    assert [c.metadata.name for c in found.config_maps] == ["vol-cm"]
    assert [s.metadata.name for s in found.secrets] == ["env-secret", "web-tls"]
    assert [(c.kind, c.metadata.name) for c in found.all] == [
        ("Service", "web"),
        ("Ingress", "web"),
        ("ConfigMap", "vol-cm"),
        ("Secret", "env-secret"),
        ("Secret", "web-tls"),
    ]
    assert found.missing == (
        "ConfigMap/bulk-cm",
        "ConfigMap/env-cm",
        "ConfigMap/init-cm",
        "ConfigMap/proj-cm",
        "Secret/bulk-secret",
        "Secret/proj-secret",
        "Secret/registry",
        "Secret/vol-secret",
    )


def test_an_ingress_default_backend_counts(to_model: ToModel) -> None:
    ingress = _ingress("web", "other")
    ingress["spec"]["defaultBackend"] = {"service": {"name": "web", "port": {"number": 80}}}
    applied = [to_model(_service("web", {"app": "web"})), to_model(ingress)]
    found = companions.find(namespace=None, pod_labels={"app": "web"}, pod_spec={}, applied=applied)
    assert [i.metadata.name for i in found.ingresses] == ["web"]


def test_config_follows_the_deployment_in_the_plan(
    example: Callable[..., Obj], to_model: ToModel, fleet_labels: dict[str, dict[str, str]]
) -> None:
    fd = example("06-federateddeployment-frontend.yaml", 0)
    pod = fd["spec"]["template"]["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "conf", "configMap": {"name": "frontend-config"}}]
    pod["containers"][0]["envFrom"] = [{"secretRef": {"name": "frontend-secrets"}}]
    applied = [
        to_model(example("06-federateddeployment-frontend.yaml", 1)),
        to_model(example("06-federateddeployment-frontend.yaml", 2)),
        to_model(_config_map("frontend-config")),
    ]
    result = fd_plan.plan(fd_plan.parse(fd), clusters=fleet_labels, applied=applied)
    assert [(s["kind"], s["name"]) for s in result.resource_selectors] == [
        ("Deployment", "frontend-app"),
        ("Service", "frontend-service"),
        ("Ingress", "frontend-ingress"),
        ("ConfigMap", "frontend-config"),
    ]
    assert result.warnings == ("Secret/frontend-secrets is used by the pod template but was not applied with it",)
