"""What a workload asks of the scheduler: replicas, per-replica requirements, its API, its UID.

Karmada's default interpreter (``InterpretReplica``) reads a Deployment's ``spec.replicas``
(1 when unset) and builds ``replicaRequirements`` from the pod template
(``GenerateReplicaRequirements``: the effective resource request and a node claim from node
selector, tolerations and required node affinity). The same reading is applied to any object
with ``spec.replicas`` and a pod template at ``spec.template.spec``; a Kurator
``FederatedDeployment`` is read as the Deployment it generates. Anything else is not a
workload: it is placed without replica counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.placement import resources

FEDERATED_DEPLOYMENT = ("apps.kurator.dev/v1alpha1", "FederatedDeployment")
DEPLOYMENT = ("apps/v1", "Deployment")


@dataclass(frozen=True, slots=True)
class Workload:
    api_version: str
    kind: str
    name: str
    namespace: str | None
    uid: str
    replicas: int
    replica_requirements: dict[str, Any] | None
    labels: Mapping[str, str]
    generated_from: str | None = None
    """``FederatedDeployment/<name>`` when read as the Deployment it generates."""


def _format(q: Any) -> str:
    text = format(q, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def requirements(pod_spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """``GenerateReplicaRequirements`` of a pod template's spec (templates get no limit defaulting)."""
    out: dict[str, Any] = {}
    claim: dict[str, Any] = {}
    if pod_spec.get("nodeSelector"):
        claim["nodeSelector"] = dict(pod_spec["nodeSelector"])
    if pod_spec.get("tolerations"):
        claim["tolerations"] = [dict(t) for t in pod_spec["tolerations"]]
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if affinity:
        claim["hardNodeAffinity"] = affinity
    if claim:
        out["nodeClaim"] = claim
    request = resources.pod_requests(pod_spec, default_from_limits=False)
    if request:
        out["resourceRequest"] = {name: _format(q) for name, q in sorted(request.items())}
    return out or None


def interpret(obj: Mapping[str, Any]) -> Workload:
    meta = obj.get("metadata") or {}
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    spec = obj.get("spec") or {}
    generated_from = None
    if (api_version, kind) == FEDERATED_DEPLOYMENT:
        generated_from = f"{kind}/{meta.get('name')}"
        api_version, kind = DEPLOYMENT
        spec = (spec.get("template") or {}).get("spec") or {}
    template = spec.get("template")
    pod_spec = template.get("spec") if isinstance(template, Mapping) else None
    is_workload = (api_version, kind) == DEPLOYMENT or ("replicas" in spec and isinstance(pod_spec, Mapping))
    replicas, reqs = 0, None
    if is_workload:
        replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
        reqs = requirements(pod_spec or {})
    return Workload(
        api_version=api_version,
        kind=kind,
        name=str(meta.get("name") or ""),
        namespace=meta.get("namespace"),
        uid=str(meta.get("uid") or ""),
        replicas=replicas,
        replica_requirements=reqs,
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        generated_from=generated_from,
    )
