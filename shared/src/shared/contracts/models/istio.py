"""Istio kinds the apps service owns: ``VirtualService`` and ``DestinationRule``.

Istio's CRD schemas are permissive; the rules here are istiod's validating webhook
(integrations.md 3.2-3.4, section 7). Specs are :class:`PassThrough` so the many fields we do
not check (matches, retries, faults, ...) reach Istio untouched. :func:`normalize_weights`
turns any valid weight list into integers summing to 100, which every Istio version accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import KubeObject, PassThrough
from shared.contracts.models import common


def normalize_weights(weights: Sequence[int | None], *, total: int = 100) -> list[int]:
    """Integer weights proportional to ``weights`` that add up to ``total`` (largest remainder).

    ``None`` counts as 0, except that a single destination always gets everything (Istio's
    rule). Ties in the remainder go to the larger original weight, then to the earlier entry,
    so the result is deterministic.

    Raises:
        ValueError: no weights, a negative weight, or several weights adding up to 0.
    """
    if not weights:
        raise ValueError("no weights to normalise")
    if len(weights) == 1:
        return [total]
    raw = [w or 0 for w in weights]
    if any(w < 0 for w in raw):
        raise ValueError(f"weights must not be negative: {raw}")
    weight_sum = sum(raw)
    if weight_sum == 0:
        raise ValueError("total destination weight = 0")
    quotas = [Fraction(w * total, weight_sum) for w in raw]
    result = [int(q) for q in quotas]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(quotas[i] - result[i]), -raw[i], i))
    for i in by_remainder[: total - sum(result)]:
        result[i] += 1
    return result


def _host_error(host: str) -> str | None:
    if host == "*":
        return None
    name = host.removeprefix("*.")
    if "*" in name:
        return "a wildcard is allowed only as the first label ('*.example.com')"
    return validation.dns_subdomain_error(name.lower())


# --- VirtualService ------------------------------------------------------------------------


class PortSelector(PassThrough):
    number: int | None = Field(default=None, ge=1, le=65535)


class Destination(PassThrough):
    host: common.RequiredStr
    subset: str | None = None
    port: PortSelector | None = None

    @model_validator(mode="after")
    def _check(self) -> Destination:
        problems = validation.Problems()
        if self.host == "*":
            problems.add("host", "destination host must not be '*'")
        else:
            err = _host_error(self.host)
            if err:
                problems.add("host", f"invalid host {self.host!r}: {err}")
        if self.subset is not None:
            common.check_dns_label(problems, "subset", self.subset, what="subset name")
        problems.raise_if_any()
        return self


class RouteDestination(PassThrough):
    """``HTTPRouteDestination`` and ``RouteDestination`` (tcp/tls) alike."""

    destination: Destination
    weight: int | None = None


def _check_route_weights(problems: validation.Problems, path: str, route: Sequence[RouteDestination]) -> None:
    for i, dest in enumerate(route):
        if dest.weight is not None and dest.weight < 0:
            problems.add(f"{path}[{i}].weight", f"weight {dest.weight} < 0")
    given = any(d.weight is not None for d in route)
    if (len(route) > 1 or given) and sum(max(d.weight or 0, 0) for d in route) == 0:
        problems.add(path, "total destination weight = 0")


class HTTPRoute(PassThrough):
    name: str | None = None
    match: list[dict[str, Any]] | None = None
    route: list[RouteDestination] | None = None
    redirect: dict[str, Any] | None = None
    direct_response: dict[str, Any] | None = None
    delegate: dict[str, Any] | None = None
    mirror: dict[str, Any] | None = None
    mirrors: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _check(self) -> HTTPRoute:
        problems = validation.Problems()
        common.exactly_one(
            problems,
            "",
            {
                "route": bool(self.route),
                "redirect": self.redirect is not None,
                "directResponse": self.direct_response is not None,
                "delegate": self.delegate is not None,
            },
        )
        if self.mirror is not None and self.mirrors is not None:
            problems.add("mirrors", "`mirror` and `mirrors` may not both be set", "FieldValueForbidden")
        if self.route:
            _check_route_weights(problems, "route", self.route)
        problems.raise_if_any()
        return self

    def normalized_weights(self) -> list[int]:
        """This route's weights as integers summing to 100 (see :func:`normalize_weights`)."""
        return normalize_weights([d.weight for d in self.route or ()])


class TCPRoute(PassThrough):
    match: list[dict[str, Any]] | None = None
    route: list[RouteDestination] | None = None

    @model_validator(mode="after")
    def _check(self) -> TCPRoute:
        problems = validation.Problems()
        if not self.route:
            problems.add("route", "a tcp route needs at least one destination", "FieldValueRequired")
        else:
            _check_route_weights(problems, "route", self.route)
        problems.raise_if_any()
        return self


class TLSRoute(TCPRoute):
    match: list[dict[str, Any]] = Field(min_length=1)


class VirtualServiceSpec(PassThrough):
    hosts: list[str] | None = None
    gateways: list[str] | None = None
    http: list[HTTPRoute] | None = None
    tcp: list[TCPRoute] | None = None
    tls: list[TLSRoute] | None = None
    export_to: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> VirtualServiceSpec:
        problems = validation.Problems()
        hosts = self.hosts or []
        # Istio reads an empty host list as a delegate VirtualService; kurator intents always
        # name their hosts, so a delegate is rejected rather than half-supported.
        if not hosts:
            problems.add("hosts", "at least one host is required", "FieldValueRequired")
        mesh_bound = not self.gateways or "mesh" in self.gateways
        for i, host in enumerate(hosts):
            if host == "*" and mesh_bound:
                problems.add(f"hosts[{i}]", "wildcard host '*' is not allowed for virtual services bound to the mesh")
            err = _host_error(host) if host else "must not be empty"
            if err:
                problems.add(f"hosts[{i}]", f"invalid host {host!r}: {err}")
        common.check_unique(problems, ((f"hosts[{i}]", h) for i, h in enumerate(hosts)), what="host")
        if not (self.http or self.tcp or self.tls):
            problems.add("http", "http, tcp or tls must be provided in virtual service", "FieldValueRequired")
        common.check_unique(
            problems, ((f"exportTo[{i}]", e) for i, e in enumerate(self.export_to or ())), what="exportTo"
        )
        problems.raise_if_any()
        return self


class VirtualService(KubeObject):
    spec: VirtualServiceSpec


# --- DestinationRule -----------------------------------------------------------------------


class LocalityDistribute(PassThrough):
    from_: common.RequiredStr = Field(alias="from")
    to: dict[str, int]


class LocalityFailover(PassThrough):
    from_: common.RequiredStr = Field(alias="from")
    to: common.RequiredStr

    @model_validator(mode="after")
    def _check(self) -> LocalityFailover:
        problems = validation.Problems()
        for field, region in (("from", self.from_), ("to", self.to)):
            if "/" in region or "*" in region:
                problems.add(field, f"invalid region {region!r}: failover takes region names, without '/' or '*'")
        if self.from_ == self.to:
            problems.add("to", "locality lb failover settings must specify different regions")
        problems.raise_if_any()
        return self


def _locality_error(locality: str) -> str | None:
    parts = locality.split("/")
    if not locality or len(parts) > 3:
        return "must be 'region[/zone[/subzone]]'"
    if "*" in locality and (locality.count("*") > 1 or parts[-1] != "*"):
        return "'*' is allowed only once, as the last part"
    return None


class LocalityLbSetting(PassThrough):
    enabled: bool | None = None
    distribute: list[LocalityDistribute] | None = None
    failover: list[LocalityFailover] | None = None
    failover_priority: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> LocalityLbSetting:
        problems = validation.Problems()
        if self.distribute and self.failover:
            problems.add(
                "failover", "can not simultaneously specify 'distribute' and 'failover'", "FieldValueForbidden"
            )
        for i, rule in enumerate(self.distribute or ()):
            err = _locality_error(rule.from_)
            if err:
                problems.add(f"distribute[{i}].from", f"invalid locality {rule.from_!r}: {err}")
            for locality, weight in rule.to.items():
                lerr = _locality_error(locality)
                if lerr:
                    problems.add(f"distribute[{i}].to[{locality}]", f"invalid locality {locality!r}: {lerr}")
                if not 1 <= weight <= 100:
                    problems.add(f"distribute[{i}].to[{locality}]", f"weight {weight} must be between 1 and 100")
            if sum(rule.to.values()) != 100:
                problems.add(f"distribute[{i}].to", f"total locality weight {sum(rule.to.values())} != 100")
        problems.raise_if_any()
        return self


class LoadBalancerSettings(PassThrough):
    simple: Literal["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"] | None = None
    consistent_hash: dict[str, Any] | None = None
    locality_lb_setting: LocalityLbSetting | None = None

    @model_validator(mode="after")
    def _check(self) -> LoadBalancerSettings:
        problems = validation.Problems()
        if self.simple is not None and self.consistent_hash is not None:
            problems.add("consistentHash", "may not be specified together with `simple`", "FieldValueForbidden")
        problems.raise_if_any()
        return self


class TrafficPolicy(PassThrough):
    load_balancer: LoadBalancerSettings | None = None
    connection_pool: dict[str, Any] | None = None
    outlier_detection: dict[str, Any] | None = None
    tls: dict[str, Any] | None = None
    port_level_settings: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _check(self) -> TrafficPolicy:
        problems = validation.Problems()
        if not self.model_dump(exclude_none=True):
            problems.add("", "traffic policy must have at least one field")
        problems.raise_if_any()
        return self


class Subset(PassThrough):
    name: common.RequiredStr
    labels: dict[str, str] | None = None
    traffic_policy: TrafficPolicy | None = None

    @model_validator(mode="after")
    def _check(self) -> Subset:
        problems = validation.Problems()
        common.check_dns_label(problems, "name", self.name, what="subset name")
        validation.check_labels(problems, "labels", self.labels)
        problems.raise_if_any()
        return self


class DestinationRuleSpec(PassThrough):
    host: common.RequiredStr
    traffic_policy: TrafficPolicy | None = None
    subsets: list[Subset] | None = None
    export_to: list[str] | None = None
    workload_selector: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> DestinationRuleSpec:
        problems = validation.Problems()
        err = _host_error(self.host)
        if err:
            problems.add("host", f"invalid host {self.host!r}: {err}")
        common.check_unique(
            problems, ((f"subsets[{i}].name", s.name) for i, s in enumerate(self.subsets or ())), what="subset name"
        )
        problems.raise_if_any()
        return self


class DestinationRule(KubeObject):
    spec: DestinationRuleSpec
