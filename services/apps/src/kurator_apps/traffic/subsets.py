"""Which subsets a ``VirtualService`` references, and which member cluster each stands for.

A subset maps to a cluster by the first rule that applies:

1. the VirtualService's annotation ``traffic.kurator.dev/subset-clusters``: comma-separated
   ``<subset>=<cluster>`` pairs (``beijing=cluster-beijing, shanghai=cluster-shanghai``);
2. a member cluster named exactly like the subset;
3. a member cluster named ``cluster-<subset>`` (the seed: ``beijing`` -> ``cluster-beijing``);
4. otherwise the subset's own name. The readiness verdict then reports that cluster as missing;
   the rule is applied again whenever the fleet changes, so a cluster joining later is picked up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from shared.contracts import validation
from shared.contracts.models import istio

SUBSET_CLUSTERS_ANNOTATION: Final = "traffic.kurator.dev/subset-clusters"
CLUSTER_PREFIX: Final = "cluster-"
# Karmada member cluster names are DNS labels of at most 48 characters.
_CLUSTER_NAME_MAX: Final = 48


class Rule(StrEnum):
    ANNOTATION = "annotation"
    EXACT = "exact"
    PREFIXED = "prefixed"
    ASSUMED = "assumed"


@dataclass(frozen=True, slots=True)
class SubsetRef:
    """A ``(host, subset)`` pair some route sends traffic to, and where it is first named."""

    host: str
    subset: str
    field: str
    """JSON path of the first reference, e.g. ``spec.http[0].route[1].destination.subset``."""


def route_lists(vs: istio.VirtualService) -> Iterator[tuple[str, int, list[istio.RouteDestination]]]:
    """``(kind, index, destinations)`` of every http, tcp and tls route that has destinations."""
    routes: list[tuple[str, int, list[istio.RouteDestination] | None]] = []
    routes += [("http", i, r.route) for i, r in enumerate(vs.spec.http or ())]
    routes += [("tcp", i, r.route) for i, r in enumerate(vs.spec.tcp or ())]
    routes += [("tls", i, r.route) for i, r in enumerate(vs.spec.tls or ())]
    for kind, index, destinations in routes:
        if destinations:
            yield kind, index, destinations


def _destinations(vs: istio.VirtualService) -> Iterator[tuple[str, str | None, str]]:
    """``(host, subset, path of the subset field)`` for every destination, in document order."""
    for kind, index, destinations in route_lists(vs):
        for j, dest in enumerate(destinations):
            path = f"spec.{kind}[{index}].route[{j}].destination.subset"
            yield dest.destination.host, dest.destination.subset, path
    for i, route in enumerate(vs.spec.http or ()):
        yield from _mirrors(route, f"spec.http[{i}]")


def _mirrors(route: istio.HTTPRoute, path: str) -> Iterator[tuple[str, str | None, str]]:
    mirrors: list[tuple[dict[str, Any], str]] = []
    if route.mirror is not None:
        mirrors.append((route.mirror, f"{path}.mirror"))
    for k, entry in enumerate(route.mirrors or ()):
        mirrors.append((entry.get("destination") or {}, f"{path}.mirrors[{k}].destination"))
    for dest, at in mirrors:
        if dest.get("host"):
            yield str(dest["host"]), dest.get("subset"), f"{at}.subset"


def references(vs: istio.VirtualService) -> list[SubsetRef]:
    """Every distinct ``(host, subset)`` the routes and mirrors name, in order of first mention."""
    found: dict[tuple[str, str], SubsetRef] = {}
    for host, subset, path in _destinations(vs):
        if subset and (host, subset) not in found:
            found[(host, subset)] = SubsetRef(host, subset, path)
    return list(found.values())


def parse_mapping(annotations: Mapping[str, str], reasons: list[validation.Reason]) -> dict[str, str]:
    """The explicit ``{subset: cluster}`` annotation; problems are appended to ``reasons``."""
    raw = annotations.get(SUBSET_CLUSTERS_ANNOTATION)
    if raw is None:
        return {}
    path = f"metadata.annotations[{SUBSET_CLUSTERS_ANNOTATION}]"
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        subset, sep, cluster = (s.strip() for s in item.partition("="))
        problem = None
        if not sep or not subset or not cluster:
            problem = f"{item!r} is not '<subset>=<cluster>'"
        elif err := validation.dns_label_error(subset):
            problem = f"invalid subset name {subset!r}: {err}"
        elif err := validation.dns_label_error(cluster, max_length=_CLUSTER_NAME_MAX):
            problem = f"invalid cluster name {cluster!r}: {err}"
        elif subset in mapping:
            reasons.append(
                validation.Reason(
                    field=path, reason="FieldValueDuplicate", message=f"subset {subset!r} is mapped twice"
                )
            )
            continue
        if problem:
            reasons.append(validation.Reason(field=path, message=problem))
            continue
        mapping[subset] = cluster
    return mapping


def cluster_for(subset: str, *, mapping: Mapping[str, str], clusters: Collection[str]) -> tuple[str, Rule]:
    """The member cluster ``subset`` stands for, and which rule decided (see the module docstring)."""
    if subset in mapping:
        return mapping[subset], Rule.ANNOTATION
    if subset in clusters:
        return subset, Rule.EXACT
    if f"{CLUSTER_PREFIX}{subset}" in clusters:
        return f"{CLUSTER_PREFIX}{subset}", Rule.PREFIXED
    return subset, Rule.ASSUMED
