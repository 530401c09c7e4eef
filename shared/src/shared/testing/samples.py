"""Small valid intents for tests and benchmarks."""

from __future__ import annotations

from typing import Any

from shared.contracts import subjects


def propagation_policy(name: str, *, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A valid Karmada PropagationPolicy selecting the Deployment of the same name."""
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}], **spec},
    }


def policy_address(name: str, *, namespace: str = "default") -> subjects.ObjectAddress:
    return subjects.ObjectAddress("fleet", "propagationpolicy", namespace, name)
