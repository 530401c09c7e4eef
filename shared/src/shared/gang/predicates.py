"""Why one pod cannot go on one node, as data.

The checks run in kube-scheduler's order and stop at the first that fails, except resources,
where every short resource is listed: node not ready, node cordoned, ``nodeSelector``/required
node affinity not satisfied, a ``NoSchedule``/``NoExecute`` taint not tolerated, then each
requested resource (``pods`` included) above what the node has free. Callers word the blockers
for their audience (the simulator as Volcano's scheduler would, the apps service for a status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from shared.gang import nodes
from shared.gang.nodes import Node, Taint
from shared.gang.pods import PodShape

_ZERO: Final = Decimal(0)


class BlockerKind(StrEnum):
    NOT_READY = "NotReady"
    UNSCHEDULABLE = "Unschedulable"
    SELECTOR_MISMATCH = "SelectorMismatch"
    UNTOLERATED_TAINT = "UntoleratedTaint"
    INSUFFICIENT = "Insufficient"


@dataclass(frozen=True, slots=True)
class Blocker:
    kind: BlockerKind
    resource: str | None = None
    """For ``INSUFFICIENT``: the resource that is short (``pods`` when the node is full)."""
    taint: Taint | None = None
    """For ``UNTOLERATED_TAINT``: the first taint the pod does not tolerate."""


def static_blocker(pod: PodShape, node: Node) -> Blocker | None:
    """The first reason other than resources why ``pod`` may not go on ``node``."""
    if not node.ready:
        return Blocker(BlockerKind.NOT_READY)
    if node.unschedulable:
        return Blocker(BlockerKind.UNSCHEDULABLE)
    if not pod.selects(node):
        return Blocker(BlockerKind.SELECTOR_MISMATCH)
    taint = nodes.untolerated_taint(node.taints, pod.tolerations)
    if taint is not None:
        return Blocker(BlockerKind.UNTOLERATED_TAINT, taint=taint)
    return None


def eligible(pod: PodShape, node: Node) -> bool:
    """``pod`` may go on ``node`` if the node has room (readiness, selector, taints)."""
    return static_blocker(pod, node) is None


def blockers(pod: PodShape, node: Node, free: Mapping[str, Decimal]) -> list[Blocker]:
    """Why ``pod`` cannot go on ``node`` with ``free`` resources left; empty: it fits."""
    first = static_blocker(pod, node)
    if first is not None:
        return [first]
    return [
        Blocker(BlockerKind.INSUFFICIENT, resource=name)
        for name, value in sorted(pod.requests.items())
        if value > free.get(name, _ZERO)
    ]
