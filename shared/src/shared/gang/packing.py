"""Placing pods on nodes one by one, reserving resources as it goes.

Each pod goes on the feasible node that is left fullest (the sum over the pod's resources of
``used / allocatable`` after taking it; ties to the later node name), as Volcano's ``binpack``
plugin scores. Pods are taken in the order given - for a gang, Volcano's order (tasks as
listed, pods by index) - rather than largest first: the point of a prediction is to agree with
the scheduler that will actually place the gang, and first-fit decreasing could place a gang
that Volcano then leaves pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from shared.gang import resources
from shared.gang.nodes import Node
from shared.gang.pods import PodShape
from shared.gang.predicates import Blocker, blockers

_ZERO: Final = Decimal(0)


@dataclass(slots=True)
class NodeState:
    """A node and what is already reserved on it (mutable: placement reserves as it goes)."""

    node: Node
    used: resources.Resources = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name

    def free(self) -> resources.Resources:
        return resources.subtract(self.node.allocatable, self.used)

    def reserve(self, requests: Mapping[str, Decimal]) -> None:
        self.used = resources.add(self.used, requests)

    def copy(self) -> NodeState:
        return NodeState(self.node, dict(self.used))


def states(nodes: Sequence[Node], allocated: Mapping[str, Mapping[str, Decimal]] | None = None) -> list[NodeState]:
    """A state per node, sorted by name, with ``allocated[node name]`` already reserved."""
    taken = allocated or {}
    return [NodeState(n, dict(taken.get(n.name) or {})) for n in sorted(nodes, key=lambda n: n.name)]


def copy_states(nodes: Sequence[NodeState]) -> list[NodeState]:
    return [n.copy() for n in nodes]


@dataclass(frozen=True, slots=True)
class Outcome:
    placed: tuple[tuple[PodShape, str], ...]
    """``(pod, node name)`` for every pod placed, in placement order."""
    failed: tuple[PodShape, ...] = ()
    """The pods that found no node, in order (only the first when placement stopped there)."""
    node_blockers: Mapping[str, tuple[Blocker, ...]] = field(default_factory=dict)
    """Why the first failed pod fits no node, per node name."""

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def first_failed(self) -> PodShape | None:
        return self.failed[0] if self.failed else None


def _fullness(state: NodeState, pod: PodShape) -> Decimal:
    score = _ZERO
    for name, value in pod.requests.items():
        capacity = state.node.allocatable.get(name, _ZERO)
        if capacity > 0 and name != resources.PODS:
            score += (state.used.get(name, _ZERO) + value) / capacity
    return score


def place(nodes: Sequence[NodeState], pods: Sequence[PodShape], *, stop_at_first_failure: bool = True) -> Outcome:
    """Place ``pods`` in order on ``nodes``, reserving on them (callers copy to try without committing)."""
    placed: list[tuple[PodShape, str]] = []
    failed: list[PodShape] = []
    node_blockers: dict[str, tuple[Blocker, ...]] = {}
    for pod in pods:
        verdicts = {n.name: blockers(pod, n.node, n.free()) for n in nodes}
        candidates = [n for n in nodes if not verdicts[n.name]]
        if not candidates:
            if not failed:
                node_blockers = {name: tuple(found) for name, found in verdicts.items()}
            failed.append(pod)
            if stop_at_first_failure:
                break
            continue
        best = max(candidates, key=lambda n: (_fullness(n, pod), n.name))
        best.reserve(pod.requests)
        placed.append((pod, best.name))
    return Outcome(placed=tuple(placed), failed=tuple(failed), node_blockers=node_blockers)
