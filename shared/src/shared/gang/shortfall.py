"""What a gang that does not fit is missing: which resource, how much, on which node selection.

:func:`explain` looks at the pods of the gang that share a failed pod's constraints (same
``nodeSelector``, node affinity and tolerations) against the nodes *before* the gang was tried,
and reports the first of these that holds:

1. ``NoNodes`` - the cluster has no nodes;
2. ``NoMatchingNode`` - no node satisfies the selection;
3. ``NoUsableNode`` - the nodes that do are not ready or cordoned;
4. ``UntoleratedTaint`` - the usable ones all carry a taint the pods do not tolerate;
5. ``Insufficient`` - per resource, the group needs more than is free on the eligible nodes
   together (one shortfall per short resource);
6. ``Fragmented`` - enough is free in total, but a single pod needs more than any one node has;
7. ``DoesNotPack`` - each pod would fit somewhere, yet not all of them at once.

Amounts are decimals; :attr:`Shortfall.message` words them for people
(``insufficient nvidia.com/gpu: the gang needs 4 on nodes with node-type=gpu, 0 are free``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from shared.gang import nodes, predicates, resources
from shared.gang.packing import NodeState
from shared.gang.pods import PodShape

_ZERO: Final = Decimal(0)


class ShortfallKind(StrEnum):
    NO_NODES = "NoNodes"
    NO_MATCHING_NODE = "NoMatchingNode"
    NO_USABLE_NODE = "NoUsableNode"
    UNTOLERATED_TAINT = "UntoleratedTaint"
    INSUFFICIENT = "Insufficient"
    FRAGMENTED = "Fragmented"
    DOES_NOT_PACK = "DoesNotPack"


@dataclass(frozen=True, slots=True)
class Shortfall:
    kind: ShortfallKind
    task: str
    """The task of the pod that found no node."""
    pod: str
    selector: tuple[str, ...] = ()
    """The node selection of the pods concerned (``("node-type=gpu",)``); empty: any node."""
    resource: str | None = None
    needed: Decimal | None = None
    """``Insufficient``: what the pods with this selection need together; ``Fragmented``: what one pod needs."""
    free: Decimal | None = None
    """``Insufficient``: free on all eligible nodes together; ``Fragmented``: the most free on one node."""
    taints: tuple[str, ...] = ()
    """``UntoleratedTaint``: the untolerated taints (``key=value:Effect``) of the matching nodes."""
    nodes: tuple[str, ...] = ()
    """The nodes that satisfy the selection (for ``NoUsableNode``/``UntoleratedTaint``: the blocked ones)."""

    @property
    def short(self) -> Decimal | None:
        """How much more of ``resource`` would be needed (``Insufficient`` and ``Fragmented``)."""
        if self.needed is None or self.free is None:
            return None
        return max(self.needed - self.free, _ZERO)

    @property
    def where(self) -> str:
        """``nodes with node-type=gpu`` or ``the cluster's nodes``."""
        return f"nodes with {', '.join(self.selector)}" if self.selector else "the cluster's nodes"

    @property
    def message(self) -> str:
        selection = f"nodeSelector {', '.join(self.selector)}"
        name = self.resource or ""
        match self.kind:
            case ShortfallKind.NO_NODES:
                return "the cluster has no nodes"
            case ShortfallKind.NO_MATCHING_NODE:
                return f"no node matches {selection}"
            case ShortfallKind.NO_USABLE_NODE:
                matching = f"matching {selection} " if self.selector else ""
                return f"no node {matching}is ready and schedulable: {', '.join(self.nodes)}"
            case ShortfallKind.UNTOLERATED_TAINT:
                return f"untolerated taint {', '.join(self.taints)} on {self.where} (task {self.task})"
            case ShortfallKind.INSUFFICIENT:
                return (
                    f"insufficient {name}: the gang needs {self._amount(self.needed)} on {self.where}, "
                    f"{self._amount(self.free)} {'is' if self.free == 1 else 'are'} free"
                )
            case ShortfallKind.FRAGMENTED:
                single = f"any single node with {', '.join(self.selector)}" if self.selector else "any single node"
                return (
                    f"insufficient {name} on {single}: a pod of task {self.task} needs "
                    f"{self._amount(self.needed)}, the most free on one node is {self._amount(self.free)}"
                )
            case ShortfallKind.DOES_NOT_PACK:
                return f"the gang's pods do not pack onto {self.where}, although enough is free in total"

    def _amount(self, value: Decimal | None) -> str:
        return resources.format_quantity(self.resource or "", value if value is not None else _ZERO)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a status: quantities as canonical strings, unset fields left out."""
        out: dict[str, Any] = {"kind": str(self.kind), "task": self.task, "pod": self.pod, "message": self.message}
        if self.selector:
            out["selector"] = list(self.selector)
        if self.resource is not None:
            out["resource"] = self.resource
        for key, value in (("needed", self.needed), ("free", self.free), ("short", self.short)):
            if value is not None:
                out[key] = self._amount(value)
        if self.taints:
            out["taints"] = list(self.taints)
        if self.nodes:
            out["nodes"] = list(self.nodes)
        return out


def explain(before: Sequence[NodeState], gang: Sequence[PodShape], failed: PodShape) -> list[Shortfall]:
    """Why ``failed`` (and the gang pods that share its constraints) find no room on ``before``."""
    selector = failed.selector_terms()

    def found(kind: ShortfallKind, **details: Any) -> Shortfall:
        return Shortfall(kind, failed.task, failed.name, selector, **details)

    if not before:
        return [found(ShortfallKind.NO_NODES)]
    matching = [s for s in before if failed.selects(s.node)]
    if not matching:
        return [found(ShortfallKind.NO_MATCHING_NODE)]
    usable = [s for s in matching if s.node.usable]
    if not usable:
        return [found(ShortfallKind.NO_USABLE_NODE, nodes=tuple(s.name for s in matching))]
    eligible = [s for s in usable if predicates.eligible(failed, s.node)]
    if not eligible:
        untolerated = (nodes.untolerated_taint(s.node.taints, failed.tolerations) for s in usable)
        taints = tuple(sorted({nodes.taint_string(t) for t in untolerated if t is not None}))
        return [found(ShortfallKind.UNTOLERATED_TAINT, taints=taints, nodes=tuple(s.name for s in usable))]
    group = [p for p in gang if p.constraint_key == failed.constraint_key]
    need = resources.total(p.requests for p in group)
    free = resources.total(s.free() for s in eligible)
    short = resources.shortages(need, free)
    if short:
        return [
            found(ShortfallKind.INSUFFICIENT, resource=name, needed=need[name], free=max(free.get(name, _ZERO), _ZERO))
            for name in sorted(short)
        ]
    fragmented = []
    for name, value in sorted(failed.requests.items()):
        largest = max((s.free().get(name, _ZERO) for s in eligible), default=_ZERO)
        if value > largest:
            fragmented.append(found(ShortfallKind.FRAGMENTED, resource=name, needed=value, free=max(largest, _ZERO)))
    return fragmented or [found(ShortfallKind.DOES_NOT_PACK)]
