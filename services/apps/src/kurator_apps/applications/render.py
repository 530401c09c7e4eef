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
a Kustomization needs a Git or OCI source, a HelmRelease a Helm or Git source and a chart name,
a ``HelmRepository`` an ``interval``, and two deliveries may not share a name.
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

APP_LABEL: Final = "apps.kurator.dev/app-name"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "kurator-apps"
SOURCE_API: Final = "source.toolkit.fluxcd.io/v1beta2"
KUSTOMIZATION_API: Final = "kustomize.toolkit.fluxcd.io/v1beta2"
HELM_RELEASE_API: Final = "helm.toolkit.fluxcd.io/v2beta1"
# The source kinds each Flux consumer can reference (Kustomization sourceRef, HelmChart sourceRef).
_KUSTOMIZATION_SOURCES: Final = ("GitRepository", "OCIRepository")
_HELM_SOURCES: Final = ("HelmRepository", "GitRepository")


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


def _source(app: apps.Application, reasons: list[validation.Reason]) -> tuple[str, dict[str, Any]]:
    src = app.spec.source
    found: list[tuple[str, str, flux.GitRepositorySource | flux.HelmRepositorySource | flux.OCIRepositorySource]] = []
    if src.git_repository is not None:
        found.append(("gitRepository", "GitRepository", src.git_repository))
    if src.helm_repository is not None:
        found.append(("helmRepository", "HelmRepository", src.helm_repository))
    if src.oci_repository is not None:
        found.append(("ociRepository", "OCIRepository", src.oci_repository))
    field, kind, model = found[0]  # the model guarantees exactly one
    spec = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if "interval" not in spec:
        message = "Required value: Flux's source API needs the interval to check the repository at"
        reasons.append(
            validation.Reason(field=f"spec.source.{field}.interval", reason="FieldValueRequired", message=message)
        )
    return kind, spec


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


def _policy_spec(
    app: apps.Application,
    index: int,
    policy: flux.ApplicationSyncPolicy,
    source_kind: str,
    reasons: list[validation.Reason],
) -> tuple[str, dict[str, Any]] | None:
    """``(kind, spec without kubeConfig)`` of the policy's Flux object, or ``None`` if it cannot work."""
    at = f"spec.syncPolicies[{index}]"
    source_ref = {"kind": source_kind, "name": app.metadata.name}
    if policy.kustomization is not None:
        if source_kind not in _KUSTOMIZATION_SOURCES:
            message = f"a kustomization policy needs a gitRepository or ociRepository source, not a {source_kind}"
            reasons.append(
                validation.Reason(field=f"{at}.kustomization", reason="FieldValueForbidden", message=message)
            )
            return None
        spec = policy.kustomization.model_dump(mode="json", by_alias=True, exclude_none=True)
        spec["sourceRef"] = source_ref
        return "Kustomization", spec
    assert policy.helm is not None  # the model guarantees exactly one of kustomization and helm
    if source_kind not in _HELM_SOURCES:
        message = f"a helm policy needs a helmRepository or gitRepository source, not an {source_kind}"
        reasons.append(validation.Reason(field=f"{at}.helm", reason="FieldValueForbidden", message=message))
        return None
    spec = policy.helm.model_dump(mode="json", by_alias=True, exclude_none=True)
    chart = copy.deepcopy(spec.get("chart") or {})
    chart_spec = chart.setdefault("spec", {})
    if not isinstance(chart_spec, dict) or not chart_spec.get("chart"):
        message = "Required value: the chart's name (or path in the Git repository)"
        reasons.append(
            validation.Reason(field=f"{at}.helm.chart.spec.chart", reason="FieldValueRequired", message=message)
        )
        return None
    chart_spec["sourceRef"] = source_ref
    spec["chart"] = chart
    return "HelmRelease", spec


def render(app: apps.Application, *, members: Sequence[FleetMember]) -> Rendering:
    """The Flux objects for ``app`` given the ``members`` of its fleet (module docstring).

    Raises:
        InvalidIntent: a combination Flux would refuse, or two deliveries with the same name.
    """
    reasons: list[validation.Reason] = []
    source_kind, source_spec = _source(app, reasons)
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
        rendered = _policy_spec(app, index, policy, source_kind, reasons)
        if rendered is None:
            continue
        kind, spec = rendered
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
