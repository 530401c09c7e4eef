"""Contract: what a FederatedDeployment becomes on its way to Karmada validates against the CRDs.

For each placement form, the ``Propagation`` the apps service publishes must be a valid
``Propagation`` (the shared contract, which validates every template with its kind's model),
and the ``PropagationPolicy`` the fleet service writes for it (built by the fleet's own code
from that Propagation) must validate strictly against ``../shared/crds/karmada``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kurator_apps.federated import plan, propagation
from kurator_fleet import ownership, ports
from kurator_fleet import propagations as fleet_propagations
from shared.contracts.models import apps
from shared.contracts.models import propagation as contract

Obj = dict[str, Any]


def _variants(seed: Obj) -> dict[str, Obj]:
    out: dict[str, Obj] = {"seed (exact counts)": seed}
    names = {**seed, "spec": {**seed["spec"], "placement": {"clusters": [{"name": "cluster-beijing"}, {"name": "x"}]}}}
    out["named, no counts"] = names
    zero = {
        **seed,
        "spec": {
            "template": {**seed["spec"]["template"], "spec": {**seed["spec"]["template"]["spec"], "replicas": 0}},
            "placement": {"clusters": [{"name": "cluster-beijing", "replicas": 0}]},
        },
    }
    out["all zero"] = zero
    selector = {"matchLabels": {"environment": "production"}}
    out["selector"] = {**seed, "spec": {**seed["spec"], "placement": {"clusterSelector": selector}}}
    weighted = {
        "clusterSelector": selector,
        "weights": [
            {"clusterSelector": {"matchLabels": {"region": "east-china"}}, "weight": 2},
            {"names": ["cluster-beijing"], "weight": 1},
        ],
    }
    out["selector with weights"] = {**seed, "spec": {**seed["spec"], "placement": weighted}}
    return out


def _companions(seed_companions: list[Any], to_model: Callable[[Obj], Any]) -> list[Any]:
    """The seed's Service and Ingress, a ConfigMap and a pull Secret, in namespace ``shop``."""
    docs = [c.to_wire() for c in seed_companions]
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"a": "1"}})
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pull"}, "data": {"k": "dg=="}})
    return [to_model({**d, "metadata": {**d["metadata"], "namespace": "shop"}}) for d in docs]


@pytest.mark.parametrize(
    "variant", ["seed (exact counts)", "named, no counts", "all zero", "selector", "selector with weights"]
)
def test_propagation_and_the_fleets_policy_validate(
    variant: str,
    seed_fd: Obj,
    seed_companions: list[Any],
    to_model: Callable[[Obj], Any],
    fleet_labels: dict[str, dict[str, str]],
    crd_causes: Callable[[Obj], list[str]],
) -> None:
    doc = _variants(seed_fd)[variant]
    pod = doc["spec"]["template"]["spec"]["template"]["spec"]
    doc["spec"]["template"]["spec"]["template"]["spec"] = {
        **pod,
        "volumes": [{"name": "conf", "configMap": {"name": "conf"}}],
        "imagePullSecrets": [{"name": "pull"}],
    }
    fd = apps.FederatedDeployment.model_validate({**doc, "metadata": {"name": "frontend-app", "namespace": "shop"}})
    planned = plan.plan(fd, clusters=fleet_labels, applied=_companions(seed_companions, to_model))
    published = propagation.document(fd, planned, generation=3)

    model = contract.Propagation.model_validate(published)
    kinds_sent = [t.kind for t in model.spec.templates]
    assert kinds_sent == ["Deployment", "Service", "Ingress", "ConfigMap", "Secret"]

    namespace, name = "shop", published["metadata"]["name"]
    policy_ref, _ = fleet_propagations.policy_refs(namespace, name)
    labels = {
        **ownership.owner_labels(**model.spec.owner.model_dump()),
        **ownership.propagation_labels(namespace=namespace, name=name),
    }
    selects = [ports.ObjectRef(t.api_version, t.kind, t.metadata.name, namespace) for t in model.spec.templates]
    policy = fleet_propagations.policy_body(policy_ref, spec=model.spec, selects=selects, labels=labels)
    assert crd_causes(policy) == []
    assert crd_causes(planned.propagation_policy()) == []


def test_a_long_name_still_makes_a_valid_propagation_name(
    seed_fd: Obj, fleet_labels: dict[str, dict[str, str]]
) -> None:
    long_name = "a" * 60 + ".b" * 40
    fd = apps.FederatedDeployment.model_validate({**seed_fd, "metadata": {"name": long_name, "namespace": "shop"}})
    published = propagation.document(fd, plan.plan(fd, clusters=fleet_labels), generation=1)
    name = published["metadata"]["name"]
    assert len(name) <= contract.Propagation.NAME_MAX_LENGTH
    assert name == propagation.name_for(long_name) != propagation.name_for(long_name + "c")
    contract.Propagation.model_validate(published)
