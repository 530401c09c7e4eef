"""The Istio objects a ``VirtualService`` intent becomes (see the package docstring).

:func:`plan` raises :class:`shared.errors.InvalidIntent` with field-specific reasons when the
intent cannot work: everything :class:`~shared.contracts.models.istio.VirtualService` checks
(route XOR redirect XOR directResponse, DNS-label subset names, weights, hosts), a malformed
annotation, or a subset the user's ``DestinationRule`` does not define (Envoy would answer
``503 NR``). Problems Istio itself only warns about come back as :attr:`TrafficPlan.warnings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from kurator_apps.traffic import locality, subsets
from kurator_apps.traffic.mesh import MemberCluster, primary_clusters
from shared.contracts import validation
from shared.contracts.models import istio
from shared.errors import InvalidIntent

API_VERSION: Final = "networking.istio.io/v1"
CLUSTER_LABEL: Final = "topology.istio.io/cluster"
"""Istio's built-in workload label holding the cluster ID (``values.global.multiCluster.clusterName``)."""
OWNER_ANNOTATION: Final = "traffic.kurator.dev/virtual-service"
"""On derived ``DestinationRule``s: the VirtualService they were derived for (what to delete with it).
An annotation, not a label: VirtualService names may be longer than a label value."""
FROM_USER: Final = "destinationRule"
""":attr:`SubsetBinding.rule` of a subset defined by the user's own ``DestinationRule``."""


@dataclass(frozen=True, slots=True)
class SubsetBinding:
    """A subset the routes use, the rule that defines it, and the cluster it selects."""

    host: str
    subset: str
    cluster: str | None
    """``None``: the user's rule selects this subset by other labels than the cluster."""
    rule: str
    """A :class:`~kurator_apps.traffic.subsets.Rule` value, or :data:`FROM_USER`."""
    destination_rule: str
    """The name of the ``DestinationRule`` that defines the subset."""


@dataclass(frozen=True, slots=True)
class TrafficPlan:
    virtual_service: dict[str, Any]
    destination_rules: tuple[dict[str, Any], ...]
    """The derived rules to write (the user's own rules are written as they are, not repeated here)."""
    bindings: tuple[SubsetBinding, ...]
    primaries: tuple[str, ...]
    """The clusters to write the config to (:func:`~kurator_apps.traffic.mesh.primary_clusters`)."""
    warnings: tuple[str, ...] = ()


def parse(doc: Mapping[str, Any]) -> istio.VirtualService:
    """A VirtualService document as the model, or :class:`InvalidIntent` naming each bad field."""
    try:
        return istio.VirtualService.model_validate(doc)
    except ValidationError as exc:
        raise InvalidIntent(validation.reasons_from(exc)) from exc


def _fqdn(host: str, namespace: str | None) -> str:
    # Istio reads a short name relative to the rule's namespace.
    return f"{host}.{namespace or 'default'}.svc.cluster.local" if "." not in host else host


def _meta(vs: istio.VirtualService) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": vs.metadata.name}
    if vs.metadata.namespace:
        meta["namespace"] = vs.metadata.namespace
    if vs.metadata.labels:
        meta["labels"] = dict(vs.metadata.labels)
    if vs.metadata.annotations:
        meta["annotations"] = dict(vs.metadata.annotations)
    return meta


def virtual_service(vs: istio.VirtualService) -> dict[str, Any]:
    """The VirtualService to write: ``networking.istio.io/v1``, weights summing to 100 per route."""
    doc = vs.to_wire()
    for kind, index, destinations in subsets.route_lists(vs):
        written = doc["spec"][kind][index]["route"]
        for j, weight in enumerate(istio.normalize_weights([d.weight for d in destinations])):
            written[j]["weight"] = weight
    return {"apiVersion": API_VERSION, "kind": "VirtualService", "metadata": _meta(vs), "spec": doc["spec"]}


def _rule_names(vs_name: str, hosts: Sequence[str]) -> dict[str, str]:
    """The VirtualService's name for the first host's rule, ``<name>-<host's first label>`` for others."""
    names: dict[str, str] = {}
    for index, host in enumerate(hosts):
        name = vs_name if index == 0 else f"{vs_name}-{host.split('.')[0].lstrip('*').strip('-') or 'host'}"
        base, n = name[:253].rstrip("-."), 2
        name = base
        while name in names.values():
            name = f"{base[: 250 - len(str(n))].rstrip('-.')}-{n}"
            n += 1
        names[host] = name
    return names


def _user_rules(
    rules: Sequence[istio.DestinationRule], namespace: str | None, warnings: list[str]
) -> dict[str, istio.DestinationRule]:
    by_host: dict[str, istio.DestinationRule] = {}
    for rule in sorted(rules, key=lambda r: r.metadata.name):
        host = _fqdn(rule.spec.host, rule.metadata.namespace or namespace)
        if host in by_host:
            warnings.append(
                f"DestinationRules {by_host[host].metadata.name!r} and {rule.metadata.name!r} are both for host "
                f"{rule.spec.host!r}; Istio merges them unpredictably, {by_host[host].metadata.name!r} is checked"
            )
            continue
        by_host[host] = rule
        policy = rule.spec.traffic_policy
        setting = policy.load_balancer.locality_lb_setting if policy and policy.load_balancer else None
        if policy and setting and (setting.failover or setting.failover_priority) and not policy.outlier_detection:
            warnings.append(
                f"DestinationRule {rule.metadata.name!r}: outlier detection policy must be provided for failover "
                "(without trafficPolicy.outlierDetection Istio does not fail over)"
            )
    return by_host


def _check_user_rule(
    rule: istio.DestinationRule, refs: Sequence[subsets.SubsetRef], reasons: list[validation.Reason]
) -> list[SubsetBinding]:
    defined = {s.name: s for s in rule.spec.subsets or ()}
    bindings = []
    for ref in refs:
        subset = defined.get(ref.subset)
        if subset is None:
            message = (
                f"subset {ref.subset!r} is not defined by DestinationRule {rule.metadata.name!r} for host "
                f"{rule.spec.host!r} (Envoy would answer 503 NR)"
            )
            reasons.append(validation.Reason(field=ref.field, reason="NotFound", message=message))
            continue
        cluster = (subset.labels or {}).get(CLUSTER_LABEL)
        bindings.append(SubsetBinding(ref.host, ref.subset, cluster, FROM_USER, rule.metadata.name))
    return bindings


def plan(
    vs: istio.VirtualService,
    *,
    clusters: Sequence[MemberCluster],
    destination_rules: Sequence[istio.DestinationRule] = (),
) -> TrafficPlan:
    """Validate ``vs`` against the fleet's ``clusters`` and derive what to write (module docstring)."""
    reasons: list[validation.Reason] = []
    warnings: list[str] = []
    annotations = vs.metadata.annotations
    mapping = subsets.parse_mapping(annotations, reasons)
    policy = locality.traffic_policy(annotations, reasons)
    namespace = vs.metadata.namespace
    refs = subsets.references(vs)
    user = _user_rules(destination_rules, namespace, warnings)
    by_host: dict[str, list[subsets.SubsetRef]] = {}
    for ref in refs:
        by_host.setdefault(ref.host, []).append(ref)
    derived_hosts = [h for h in by_host if _fqdn(h, namespace) not in user]
    names = _rule_names(vs.metadata.name, derived_hosts)
    known = {c.name for c in clusters}
    bindings: list[SubsetBinding] = []
    rules: list[dict[str, Any]] = []
    for host, host_refs in by_host.items():
        own = user.get(_fqdn(host, namespace))
        if own is not None:
            bindings += _check_user_rule(own, host_refs, reasons)
            continue
        entries = []
        for ref in host_refs:
            cluster, rule = subsets.cluster_for(ref.subset, mapping=mapping, clusters=known)
            bindings.append(SubsetBinding(host, ref.subset, cluster, str(rule), names[host]))
            entries.append({"name": ref.subset, "labels": {CLUSTER_LABEL: cluster}})
        rules.append(_destination_rule(vs, names[host], host, entries, policy))
    unused = sorted(set(mapping) - {r.subset for r in refs})
    if unused:
        warnings.append(f"{subsets.SUBSET_CLUSTERS_ANNOTATION} maps subsets no route uses: {', '.join(unused)}")
    if policy is not None and not rules:
        warnings.append(f"{locality.LOCALITY_ANNOTATION} applies only to derived DestinationRules; none was derived")
    if reasons:
        raise InvalidIntent(reasons)
    return TrafficPlan(
        virtual_service=virtual_service(vs),
        destination_rules=tuple(rules),
        bindings=tuple(bindings),
        primaries=primary_clusters(clusters),
        warnings=tuple(warnings),
    )


def _destination_rule(
    vs: istio.VirtualService,
    name: str,
    host: str,
    entries: list[dict[str, Any]],
    policy: Mapping[str, Any] | None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "annotations": {OWNER_ANNOTATION: vs.metadata.name}}
    if vs.metadata.namespace:
        meta["namespace"] = vs.metadata.namespace
    spec: dict[str, Any] = {"host": host}
    if policy is not None:
        spec["trafficPolicy"] = dict(policy)
    spec["subsets"] = entries
    doc = {"apiVersion": API_VERSION, "kind": "DestinationRule", "metadata": meta, "spec": spec}
    # Built from validated parts; checking again keeps a derivation bug from reaching Istio.
    istio.DestinationRule.model_validate(doc)
    return doc
