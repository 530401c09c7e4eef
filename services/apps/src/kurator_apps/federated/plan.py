"""A ``FederatedDeployment`` as what to propagate: the Deployment, its companions, one placement.

The Deployment is the template with ``metadata.name``/``namespace`` of the FederatedDeployment,
``spec.replicas`` the placement's total, and the selector and pod labels completed as
``apps/v1`` requires (:meth:`~shared.contracts.models.workloads.Deployment.completed`). It and
its companions (:mod:`.companions`) are selected by one policy with one placement
(:mod:`.placement`), so Karmada sends them to the same clusters: companions have no replicas, and
Karmada gives a non-workload every candidate cluster - exactly the clusters named for the
Deployment when counts are explicit. ConfigMaps and Secrets are selected explicitly rather than
through ``propagateDeps``, so they follow even where dependency propagation is not available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from kurator_apps.federated import companions, placement
from shared.contracts import validation
from shared.contracts.models import apps, workloads
from shared.errors import InvalidIntent

OWNER_ANNOTATION: Final = "apps.kurator.dev/federated-deployment"
"""On the generated Deployment: the FederatedDeployment it comes from."""
POLICY_API: Final = "policy.karmada.io/v1alpha1"


@dataclass(frozen=True, slots=True)
class FederatedPlan:
    deployment: dict[str, Any]
    companions: tuple[companions.Companion, ...]
    placement: dict[str, Any]
    replicas: dict[str, int]
    """What each cluster should run (see :class:`~kurator_apps.federated.placement.ReplicaPlacement`)."""
    exact: bool
    warnings: tuple[str, ...] = ()

    @property
    def resource_selectors(self) -> list[dict[str, Any]]:
        """The Deployment and every companion, by name, as Karmada ``resourceSelectors``."""
        objs: list[tuple[str, str, Mapping[str, Any]]] = [
            (self.deployment["apiVersion"], self.deployment["kind"], self.deployment["metadata"])
        ]
        objs += [
            (c.api_version, c.kind, {"name": c.metadata.name, "namespace": c.metadata.namespace})
            for c in self.companions
        ]
        out = []
        for api_version, kind, meta in objs:
            selector = {"apiVersion": api_version, "kind": kind, "name": meta["name"]}
            if meta.get("namespace"):
                selector["namespace"] = meta["namespace"]
            out.append(selector)
        return out

    def propagation_policy(self) -> dict[str, Any]:
        """A ``PropagationPolicy`` named like the Deployment, selecting it and its companions."""
        meta = {k: v for k, v in self.deployment["metadata"].items() if k in ("name", "namespace")}
        spec = {"resourceSelectors": self.resource_selectors, "placement": self.placement}
        return {"apiVersion": POLICY_API, "kind": "PropagationPolicy", "metadata": meta, "spec": spec}


def parse(doc: Mapping[str, Any]) -> apps.FederatedDeployment:
    """A FederatedDeployment document as the model, or :class:`InvalidIntent` naming each bad field."""
    try:
        return apps.FederatedDeployment.model_validate(doc)
    except ValidationError as exc:
        raise InvalidIntent(validation.reasons_from(exc)) from exc


def deployment(fd: apps.FederatedDeployment, replicas: int) -> workloads.Deployment:
    """The Deployment to propagate, with ``replicas`` and a complete selector."""
    template = fd.spec.template
    meta: dict[str, Any] = {"name": fd.metadata.name}
    if fd.metadata.namespace:
        meta["namespace"] = fd.metadata.namespace
    if template.metadata is not None and template.metadata.labels:
        meta["labels"] = dict(template.metadata.labels)
    annotations = dict((template.metadata.annotations if template.metadata else None) or {})
    meta["annotations"] = {**annotations, OWNER_ANNOTATION: fd.metadata.name}
    spec = template.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["replicas"] = replicas
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}
    return workloads.Deployment.model_validate(doc).completed()


def _checked_wire(fd: apps.FederatedDeployment, replicas: int) -> dict[str, Any] | None:
    """The Deployment's wire form, when everything validating it would check was checked with
    ``fd`` already (its name and namespace, the template's labels and its whole spec are the
    same models' with the same rules), so it is what validating and serializing it returns;
    ``None`` when it has more to say: an annotation key (the template's are not checked), or a
    selector or pod labels to complete (:func:`deployment`, :meth:`Deployment.completed`)."""
    template = fd.spec.template
    spec = template.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not spec.get("selector") or not (spec["template"].get("metadata") or {}).get("labels"):
        return None
    annotations = dict((template.metadata.annotations if template.metadata else None) or {})
    if any(validation.label_key_error(key) for key in annotations):
        return None
    meta: dict[str, Any] = {"name": fd.metadata.name}
    if fd.metadata.namespace:
        meta["namespace"] = fd.metadata.namespace
    if template.metadata is not None and template.metadata.labels:
        meta["labels"] = dict(template.metadata.labels)
    meta["annotations"] = {**annotations, OWNER_ANNOTATION: fd.metadata.name}
    spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def _clean(model: workloads.Deployment) -> dict[str, Any]:
    doc = model.to_wire()
    doc["metadata"] = {k: v for k, v in doc["metadata"].items() if v not in ({}, None)}
    return doc


def plan(
    fd: apps.FederatedDeployment,
    *,
    clusters: placement.ClusterLabels,
    applied: Sequence[companions.Companion] = (),
    template_uid: str = "",
) -> FederatedPlan:
    """What to propagate for ``fd`` over the fleet's ``clusters``, with the objects ``applied`` beside it."""
    where = placement.replica_placement(fd, clusters=clusters, template_uid=template_uid)
    wire = _checked_wire(fd, where.total) or _clean(deployment(fd, where.total))
    pod = wire["spec"]["template"]
    found = companions.find(
        namespace=fd.metadata.namespace,
        pod_labels=dict((pod.get("metadata") or {}).get("labels") or {}),
        pod_spec=pod["spec"],  # read only
        applied=applied,
    )
    warnings = [f"{ref} is used by the pod template but was not applied with it" for ref in found.missing]
    strangers = sorted(set(where.per_cluster) - set(clusters))
    if strangers and fd.spec.placement.clusters is not None:
        warnings.append(f"not members of the fleet: {', '.join(strangers)}")
    if fd.spec.placement.cluster_selector is not None and not where.per_cluster:
        warnings.append("the cluster selector matches no member of the fleet")
    return FederatedPlan(
        deployment=wire,
        companions=found.all,
        placement=where.placement,
        replicas=where.per_cluster,
        exact=where.exact,
        warnings=tuple(warnings),
    )
