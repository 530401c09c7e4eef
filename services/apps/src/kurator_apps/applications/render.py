"""Rendering an ``Application`` into the Flux objects upstream Kurator writes on the host.

* One source named ``<app>``: ``GitRepository``, ``HelmRepository`` or ``OCIRepository``
  (``source.toolkit.fluxcd.io/v1beta2``), its ``spec`` copied verbatim from ``spec.source``.
* Per sync policy and per selected member: a ``Kustomization``
  (``kustomize.toolkit.fluxcd.io/v1beta2``) or ``HelmRelease`` (``helm.toolkit.fluxcd.io/v2beta1``)
  named :func:`~kurator_apps.applications.names.delivery_name`, its ``spec`` copied from the
  policy plus ``sourceRef`` to the source and ``kubeConfig.secretRef`` to the member's
  kubeconfig Secret (none for the host).
* Every object is labelled ``apps.kurator.dev/app-name: <app>`` (upstream's label) and
  ``app.kubernetes.io/managed-by: kurator-apps`` (:func:`owned_selector` finds them again) and
  lives in the Application's namespace. Unlike upstream there is no ``ownerReference``: the
  Application lives on the bus, not in the API server, and Kubernetes' garbage collector
  deletes objects whose owner it cannot find, so the service deletes them itself.

Destinations follow upstream (kurator-upstream.md 3.2): a policy's ``destination`` overrides
``spec.destination``; ``clusterSelector.matchLabels`` (equality, ANDed) picks among the fleet's
members, no selector picks them all; no destination at all deploys to the host. Beyond
upstream, combinations Flux would refuse are rejected up front with the field that causes them:
the Application model refuses a Kustomization over a Helm repository, a HelmRelease over an OCI
repository or without a chart name, a ``HelmRepository`` without an ``interval``; here, two
deliveries whose names collide once truncated.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from kurator_apps.applications.members import HOST, FleetMember
from kurator_apps.applications.names import delivery_name
from shared.contracts import validation
from shared.contracts.models import apps, flux
from shared.errors import InvalidIntent

Obj = dict[str, Any]

APP_LABEL: Final = "apps.kurator.dev/app-name"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "kurator-apps"
SOURCE_API: Final = "source.toolkit.fluxcd.io/v1beta2"
KUSTOMIZATION_API: Final = "kustomize.toolkit.fluxcd.io/v1beta2"
HELM_RELEASE_API: Final = "helm.toolkit.fluxcd.io/v2beta1"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery unit: a policy's Flux object for one member cluster."""

    policy: str
    cluster: str
    cluster_kind: str
    kind: str
    """``Kustomization`` or ``HelmRelease``."""
    name: str
    object: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rendering:
    source: dict[str, Any]
    deliveries: tuple[Delivery, ...]
    unmatched: tuple[str, ...] = ()
    """Policies whose destination selects no member (nothing to deliver; worth a warning)."""

    def status(self) -> dict[str, Any]:
        """The status skeleton: the source and, per delivery, its cluster, waiting for Flux to report."""
        source_kind = str(self.source["kind"])
        return {
            "phase": "Pending",
            "sourceStatus": {"kind": source_kind, "name": self.source["metadata"]["name"], "ready": "Unknown"},
            "syncStatus": [
                {
                    "name": d.name,
                    "kind": d.kind,
                    "policy": d.policy,
                    "cluster": d.cluster,
                    "clusterKind": d.cluster_kind,
                    "ready": "Unknown",
                    "message": f"waiting for the {d.kind}",
                }
                for d in self.deliveries
            ],
        }


def parse(doc: Mapping[str, Any]) -> apps.Application:
    """An Application document as the model, or :class:`InvalidIntent` naming each bad field."""
    try:
        return apps.Application.model_validate(doc)
    except ValidationError as exc:
        raise InvalidIntent(validation.reasons_from(exc)) from exc


def _source(app: apps.Application) -> tuple[str, dict[str, Any]]:
    src = app.spec.source
    model = src.git_repository or src.helm_repository or src.oci_repository
    assert model is not None  # the model guarantees exactly one
    return src.kind, model.model_dump(mode="json", by_alias=True, exclude_none=True)


def owned_selector(app_name: str) -> str:
    """The label selector of every Flux object rendered for the Application ``app_name``."""
    return f"{APP_LABEL}={app_name},{MANAGED_BY_LABEL}={MANAGER}"


def _metadata(app: apps.Application, name: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {APP_LABEL: app.metadata.name, MANAGED_BY_LABEL: MANAGER}}
    if app.metadata.namespace:
        meta["namespace"] = app.metadata.namespace
    return meta


def _selected(destination: flux.ApplicationDestination | None, members: Sequence[FleetMember]) -> list[FleetMember]:
    if destination is None:
        return [HOST]
    wanted = (destination.cluster_selector.match_labels if destination.cluster_selector else None) or {}
    return [m for m in members if all(m.labels.get(k) == v for k, v in wanted.items())]


def _kube_config(member: FleetMember) -> dict[str, Any] | None:
    if member.secret_name is None:
        return None
    return {"secretRef": {"name": member.secret_name, "key": member.secret_key}}


def _policy_spec(app: apps.Application, policy: flux.ApplicationSyncPolicy, source_kind: str) -> tuple[str, Obj]:
    """``(kind, spec without kubeConfig)`` of the policy's Flux object (the model has checked that
    the source kind suits it and that a helm policy names its chart)."""
    source_ref = {"kind": source_kind, "name": app.metadata.name}
    if policy.kustomization is not None:
        spec = policy.kustomization.model_dump(mode="json", by_alias=True, exclude_none=True)
        spec["sourceRef"] = source_ref
        return "Kustomization", spec
    assert policy.helm is not None  # the model guarantees exactly one of kustomization and helm
    spec = policy.helm.model_dump(mode="json", by_alias=True, exclude_none=True)
    chart = copy.deepcopy(spec["chart"])
    chart["spec"]["sourceRef"] = source_ref
    spec["chart"] = chart
    return "HelmRelease", spec


def render(app: apps.Application, *, members: Sequence[FleetMember]) -> Rendering:
    """The Flux objects for ``app`` given the ``members`` of its fleet (module docstring).

    Raises:
        InvalidIntent: two deliveries with the same name.
    """
    reasons: list[validation.Reason] = []
    source_kind, source_spec = _source(app)
    source = {
        "apiVersion": SOURCE_API,
        "kind": source_kind,
        "metadata": _metadata(app, app.metadata.name),
        "spec": source_spec,
    }
    deliveries: list[Delivery] = []
    unmatched: list[str] = []
    names: dict[str, int] = {}
    for index, (policy, policy_name) in enumerate(zip(app.spec.sync_policies, app.policy_names(), strict=True)):
        kind, spec = _policy_spec(app, policy, source_kind)
        selected = _selected(policy.destination or app.spec.destination, members)
        if not selected:
            unmatched.append(policy_name)
        for member in selected:
            name = delivery_name(policy_name, member.kind, member.name)
            if name in names:
                message = f"the {kind} for cluster {member.name} would be named {name!r}, like another delivery"
                reasons.append(
                    validation.Reason(
                        field=f"spec.syncPolicies[{index}].name", reason="FieldValueDuplicate", message=message
                    )
                )
                continue
            names[name] = index
            body = copy.deepcopy(spec)
            kube_config = _kube_config(member)
            if kube_config is not None:
                body["kubeConfig"] = kube_config
            api = KUSTOMIZATION_API if kind == "Kustomization" else HELM_RELEASE_API
            obj = {"apiVersion": api, "kind": kind, "metadata": _metadata(app, name), "spec": body}
            deliveries.append(Delivery(policy_name, member.name, member.kind, kind, name, obj))
    if reasons:
        raise InvalidIntent(reasons)
    return Rendering(source=source, deliveries=tuple(deliveries), unmatched=tuple(unmatched))
