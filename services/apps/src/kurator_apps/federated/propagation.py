"""A ``FederatedDeployment``'s plan as the ``Propagation`` the fleet service is asked for.

One Propagation per FederatedDeployment, in its namespace, named :func:`name_for` (``fd-<name>``,
shortened with a hash when that would pass the 63 characters a Propagation name may have), with
the Deployment and every companion as templates and the plan's placement. The generation of the
FederatedDeployment it was made from is an annotation, so the fleet's status for it says which
generation the fleet has applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

import orjson

from kurator_apps.federated import companions, plan
from shared.contracts.models import apps, propagation

API_VERSION: Final = "fleet.kurator.dev/v1alpha1"
PREFIX: Final = "fd-"
GENERATION_ANNOTATION: Final = "apps.kurator.dev/generation"
_KEPT_METADATA: Final = ("name", "namespace", "labels", "annotations")


def name_for(fd_name: str) -> str:
    """The Propagation's name for the FederatedDeployment ``fd_name`` (deterministic)."""
    name = PREFIX + fd_name
    limit = propagation.Propagation.NAME_MAX_LENGTH
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(fd_name.encode()).hexdigest()[:10]
    head = name[: limit - len(digest) - 1].rstrip("-.")
    return f"{head}-{digest}"


def _template(model: companions.Companion) -> dict[str, Any]:
    doc = model.to_wire()
    doc["metadata"] = {k: v for k, v in doc["metadata"].items() if k in _KEPT_METADATA and v not in ({}, None)}
    return doc


def document(fd: apps.FederatedDeployment, planned: plan.FederatedPlan, *, generation: int) -> dict[str, Any]:
    """The ``Propagation`` intent for ``fd`` as ``planned``."""
    namespace = fd.metadata.namespace or "default"
    owner = {"service": "apps", "kind": "FederatedDeployment", "namespace": namespace, "name": fd.metadata.name}
    return {
        "apiVersion": API_VERSION,
        "kind": "Propagation",
        "metadata": {
            "name": name_for(fd.metadata.name),
            "namespace": namespace,
            "annotations": {GENERATION_ANNOTATION: str(generation)},
        },
        "spec": {
            "owner": owner,
            "templates": [planned.deployment, *(_template(c) for c in planned.companions)],
            "placement": planned.placement,
        },
    }


def generation_of(document: dict[str, Any]) -> int | None:
    """The FederatedDeployment generation a Propagation (as the fleet shows it) was made from."""
    return generation_in((document.get("metadata") or {}).get("annotations") or {})


def generation_in(annotations: Mapping[str, Any]) -> int | None:
    """:func:`generation_of` from the Propagation's annotations."""
    raw = annotations.get(GENERATION_ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def fingerprint(document: Mapping[str, Any]) -> str:
    """What identifies a Propagation's content, as sent or as the fleet's status shows it (there
    Secret values are redacted, so they are here too): its annotations and its spec."""
    meta = document.get("metadata") or {}
    body = {"metadata": {"annotations": meta.get("annotations") or {}}, "spec": document.get("spec") or {}}
    public = propagation.Propagation.public_document(body)
    return hashlib.sha256(orjson.dumps(public, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
