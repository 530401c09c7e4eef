"""A Propagation's templates as written to Karmada: ``template_body`` gives what it gave when it
validated every Deployment twice more (dump, validate as a ``Deployment``, complete, validate,
dump), now that it writes a Deployment from the model the Propagation's validation made.

The reference below is that earlier implementation, kept here to compare against on templates
that exercise each way a template's wire form can differ from what a ``Deployment`` writes:
missing selector or template labels, ``null`` values, snake_case keys, unknown and server-owned
metadata, a status, extra top-level keys, numbers as quantities.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from kurator_fleet import ownership, propagations
from shared.contracts.models import propagation, workloads

LABELS = {
    **ownership.owner_labels(service="apps", kind="FederatedDeployment", namespace="shop", name="web"),
    **ownership.propagation_labels(namespace="shop", name="web"),
}


def reference_body(template: propagation.Template, *, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """``template_body`` as it was: every Deployment through its model twice."""
    doc = template.model_dump(mode="json", by_alias=True, exclude_none=True)
    doc.pop("status", None)
    meta = {k: v for k, v in doc["metadata"].items() if k not in propagations._SERVER_METADATA}
    if namespace is None:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    doc["metadata"] = meta
    if template.api_version == "apps/v1" and template.kind == "Deployment":
        doc = workloads.Deployment.model_validate(doc).completed().to_wire()
    return doc


def pod(**extra: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}, **extra}


def deployment(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", **metadata}, "spec": spec}


BENCH = deployment(
    {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.27", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
                ]
            },
        },
    },
    namespace="shop",
    annotations={"apps.kurator.dev/federated-deployment": "web"},
)

TEMPLATES: dict[str, dict[str, Any]] = {
    "as the apps service sends it": BENCH,
    "no selector, no template labels": deployment({"replicas": 3, "template": pod()}, labels={"app": "web"}),
    "selector only": deployment({"selector": {"matchLabels": {"tier": "web"}}, "template": pod()}),
    "template labels only": deployment({"template": pod(metadata={"labels": {"tier": "web", "x": "y"}})}),
    "template annotations only": deployment({"template": pod(metadata={"annotations": {"a": "b"}})}),
    "selector with expressions": deployment(
        {
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
            },
            "template": pod(metadata={"labels": {"app": "web", "tier": "a"}}),
        }
    ),
    "nulls everywhere": deployment(
        {
            "replicas": None,
            "paused": None,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": None},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": None},
                "spec": {"containers": [{"name": "web", "image": "nginx", "command": None, "ports": None}]},
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": None},
        },
        labels=None,
        annotations=None,
        namespace=None,
    ),
    "snake_case keys": deployment(
        {
            "min_ready_seconds": 5,
            "revision_history_limit": 2,
            "progress_deadline_seconds": 60,
            "template": pod(metadata={"labels": {"app": "web"}}),
        }
    ),
    "server and unknown metadata": deployment(
        {"template": pod()},
        uid="0b1c",
        resourceVersion="42",
        generation=7,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[{"manager": "kubectl"}],
        ownerReferences=[{"kind": "X", "name": "y", "uid": "z"}],
        finalizers=["example.com/keep"],
        generateName="web-",
    ),
    "snake_case server metadata": deployment({"template": pod()}, resource_version="42", creation_timestamp="t"),
    "status and extra top-level keys": {
        **deployment({"template": pod(metadata={"labels": {"app": "web"}})}),
        "status": {"replicas": 3, "readyReplicas": 1},
        "extra": {"kept": None},
    },
    "numbers as quantities, extras kept": deployment(
        {
            "replicas": 0,
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "resources": {"limits": {"cpu": 1, "memory": 1.5e9}, "requests": {"cpu": "0.5"}},
                            "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                            "env": [{"name": "A", "value": "1"}],
                        }
                    ],
                    "nodeSelector": {"disk": "ssd"},
                    "tolerations": [{"key": "k", "operator": "Exists"}],
                },
            },
        },
        labels={"app": "web", "kurator.dev/propagation": "someone-else"},
    ),
}


def validated(template: dict[str, Any]) -> propagation.Propagation:
    return propagation.Propagation.model_validate(
        {
            "apiVersion": "fleet.kurator.dev/v1alpha1",
            "kind": "Propagation",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": "shop", "name": "web"},
                "templates": [copy.deepcopy(template)],
                "placement": {"clusterAffinity": {"clusterNames": ["member1"]}},
            },
        }
    )


@pytest.mark.parametrize("namespace", ["shop", None])
@pytest.mark.parametrize("case", sorted(TEMPLATES))
def test_a_deployment_is_written_as_before(case: str, namespace: str | None) -> None:
    [template] = validated(TEMPLATES[case]).spec.templates
    assert template.routed_model() is not None, "validated with the Propagation"
    expected = reference_body(template, namespace=namespace, labels=LABELS)
    body = propagations.template_body(template, namespace=namespace, labels=LABELS)
    assert body == expected
    assert orjson.loads(orjson.dumps(body)) == body, "plain JSON values"


def test_the_usual_templates_take_the_short_way(monkeypatch: pytest.MonkeyPatch) -> None:
    templates = {case: validated(t).spec.templates[0] for case, t in TEMPLATES.items()}

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validated again")

    monkeypatch.setattr(workloads.Deployment, "model_validate", refused)
    for case, template in templates.items():
        if case == "snake_case server metadata":
            continue  # ObjectMeta reads resource_version: the long way, as the comparison above shows
        propagations.template_body(template, namespace="shop", labels=LABELS)


def test_the_body_shares_nothing_with_the_validated_template() -> None:
    [template] = validated(TEMPLATES["template labels only"]).spec.templates
    first = propagations.template_body(template, namespace="shop", labels=LABELS)
    first["spec"]["template"]["metadata"]["labels"]["changed"] = "yes"
    first["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    first["metadata"]["labels"]["changed"] = "yes"
    assert propagations.template_body(template, namespace="shop", labels=LABELS) == reference_body(
        template, namespace="shop", labels=LABELS
    )


def test_a_template_not_validated_with_a_propagation_is_validated_here() -> None:
    template = propagation.Template.model_validate(TEMPLATES["no selector, no template labels"])
    assert template.routed_model() is None
    copied = validated(TEMPLATES["selector only"]).spec.templates[0].model_copy(update={"kind": "Deployment"})
    assert copied.routed_model() is None, "a copy does not take the original's model for its own"
    body = propagations.template_body(template, namespace="shop", labels=LABELS)
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert body == reference_body(template, namespace="shop", labels=LABELS)


def test_templates_compare_equal_whatever_their_memo() -> None:
    validated_one = validated(BENCH).spec.templates[0]
    plain = propagation.Template.model_validate(BENCH)
    assert validated_one.routed_model() is not None
    assert plain.routed_model() is None
    assert validated_one == plain
