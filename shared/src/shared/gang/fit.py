"""The gang-fit decision for one cluster, and the ranking that picks a cluster among several.

:func:`fit_job` takes a Volcano ``Job`` dict, the cluster's v1 ``Node`` dicts and what is
already allocated per node (:func:`allocated_by_node` sums it from the cluster's pods), places
the gang (:mod:`.packing`) on copies of the nodes and, when some pod finds no node, explains
the shortfall for every group of pods that failed (:mod:`.shortfall`).

:func:`rank_clusters` orders the clusters where the gang fits by *headroom*: for each resource
the gang requests (``pods`` only when it requests nothing else), the share of the cluster's
usable allocatable that would still be free after placing it; a cluster's headroom is the
smallest such share, its bottleneck. Most headroom first (the gang is least likely to starve
the cluster, or to be squeezed by what comes next), then by name; clusters where it does not
fit come last, by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from shared.gang import packing, resources
from shared.gang.nodes import Node
from shared.gang.pods import Gang, gang_of
from shared.gang.shortfall import Shortfall, explain

_ZERO: Final = Decimal(0)
_TERMINAL_PHASES: Final = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class Placement:
    pod: str
    task: str
    node: str


@dataclass(frozen=True, slots=True)
class GangFit:
    """Whether a gang fits one cluster, where its pods would go, or why it does not fit."""

    min_member: int
    placements: tuple[Placement, ...]
    """Where each gang pod would run (empty when the gang does not fit)."""
    shortfalls: tuple[Shortfall, ...]
    """Why it does not fit (empty when it does)."""
    requests: Mapping[str, Decimal]
    """What the whole gang requests."""
    capacity: Mapping[str, Decimal]
    """Allocatable of the usable (ready, schedulable) nodes."""
    free_before: Mapping[str, Decimal]
    """Free on the usable nodes before the gang."""
    free_after: Mapping[str, Decimal]
    """Free on the usable nodes once the gang is placed (``free_before`` when it does not fit)."""

    @property
    def fits(self) -> bool:
        return not self.shortfalls

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(s.message for s in self.shortfalls)

    @property
    def headroom(self) -> Decimal | None:
        """The bottleneck share left free after placement (see the module docstring); ``None``: no fit."""
        if not self.fits:
            return None
        names = sorted(n for n in self.requests if n != resources.PODS) or [resources.PODS]
        shares = []
        for name in names:
            capacity = self.capacity.get(name, _ZERO)
            shares.append(self.free_after.get(name, _ZERO) / capacity if capacity > 0 else _ZERO)
        return min(shares)


def allocated_by_node(pods: Iterable[Mapping[str, Any]]) -> dict[str, resources.Resources]:
    """What the cluster's pods hold per node: requests of pods bound to a node and not finished."""
    out: dict[str, resources.Resources] = {}
    for pod in pods:
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        node = spec.get("nodeName")
        if not node or status.get("phase") in _TERMINAL_PHASES:
            continue
        out[str(node)] = resources.add(out.get(str(node), {}), resources.pod_requests(spec))
    return out


def _free(states: Sequence[packing.NodeState]) -> resources.Resources:
    # Per node, never below zero: an overcommitted node must not hide another node's room.
    return resources.total({k: max(v, _ZERO) for k, v in s.free().items()} for s in states if s.node.usable)


def fit_gang(
    gang: Gang, nodes: Sequence[Node], *, allocated: Mapping[str, Mapping[str, Decimal]] | None = None
) -> GangFit:
    """Place ``gang`` on ``nodes`` minus ``allocated`` (per node name) without changing either."""
    before = packing.states(nodes, allocated)
    trial = packing.copy_states(before)
    outcome = packing.place(trial, gang.pods, stop_at_first_failure=False)
    capacity = resources.total(s.node.allocatable for s in before if s.node.usable)
    free_before = _free(before)
    if outcome.ok:
        return GangFit(
            min_member=gang.min_member,
            placements=tuple(Placement(pod.name, pod.task, node) for pod, node in outcome.placed),
            shortfalls=(),
            requests=gang.requests,
            capacity=capacity,
            free_before=free_before,
            free_after=_free(trial),
        )
    shortfalls: list[Shortfall] = []
    explained: set[str] = set()
    for pod in outcome.failed:
        if pod.constraint_key in explained:
            continue
        explained.add(pod.constraint_key)
        # Groups may share a reason ("the cluster has no nodes"): say it once.
        shortfalls += [s for s in explain(before, gang.pods, pod) if s.message not in {f.message for f in shortfalls}]
    return GangFit(
        min_member=gang.min_member,
        placements=(),
        shortfalls=tuple(shortfalls),
        requests=gang.requests,
        capacity=capacity,
        free_before=free_before,
        free_after=free_before,
    )


def fit_job(
    job: Mapping[str, Any],
    nodes: Iterable[Mapping[str, Any]],
    *,
    allocated: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> GangFit:
    """:func:`fit_gang` for a Volcano ``Job`` dict and v1 ``Node`` dicts."""
    return fit_gang(gang_of(job), [Node.from_dict(n) for n in nodes], allocated=allocated)


def rank_clusters(fits: Mapping[str, GangFit]) -> list[tuple[str, GangFit]]:
    """``(cluster, fit)`` best first (see the module docstring)."""
    fitting = sorted(
        ((name, fit) for name, fit in fits.items() if fit.fits),
        key=lambda item: (-(item[1].headroom or _ZERO), item[0]),
    )
    others = sorted(((name, fit) for name, fit in fits.items() if not fit.fits), key=lambda item: item[0])
    return fitting + others


def choose_cluster(fits: Mapping[str, GangFit]) -> str | None:
    """The best cluster for the gang, or ``None`` when it fits nowhere."""
    ranked = rank_clusters(fits)
    return ranked[0][0] if ranked and ranked[0][1].fits else None
