"""A node as the scheduler sees it: allocatable resources, labels, taints, readiness.

:meth:`Node.from_dict` reads a v1 ``Node``. A node is *usable* when it is Ready and not
cordoned (``spec.unschedulable``). Readiness is the ``Ready`` condition; a node that reports no
``Ready`` condition at all counts as ready, because kube-scheduler itself never reads node
conditions (the node lifecycle controller's ``node.kubernetes.io/not-ready`` taint is what keeps
pods off, and taints are honoured like any other). A ``Ready`` condition that is ``False`` or
``Unknown`` makes the node unusable.

Taint toleration follows ``corev1.Toleration.ToleratesTaint``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from shared.gang import resources

Taint = Mapping[str, Any]
"""A ``corev1.Taint`` dict: ``key``, ``value``, ``effect``."""

SCHEDULING_EFFECTS: Final = ("NoSchedule", "NoExecute")
"""The taint effects that keep a new pod off a node (``PreferNoSchedule`` only discourages)."""


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    allocatable: Mapping[str, Decimal]
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    ready: bool = True
    unschedulable: bool = False

    @property
    def usable(self) -> bool:
        """Ready and not cordoned: the scheduler may put new pods here."""
        return self.ready and not self.unschedulable

    @classmethod
    def from_dict(cls, node: Mapping[str, Any]) -> Node:
        """A v1 ``Node`` (``status.allocatable``, falling back to ``status.capacity``)."""
        meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
        return cls(
            name=str(meta.get("name") or ""),
            allocatable=resources.parse_list(status.get("allocatable") or status.get("capacity")),
            labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
            taints=tuple(spec.get("taints") or ()),
            ready=is_ready(node),
            unschedulable=bool(spec.get("unschedulable")),
        )


def is_ready(node: Mapping[str, Any]) -> bool:
    """The node's ``Ready`` condition is ``True``, or it reports none (see the module docstring)."""
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return True


def tolerates(toleration: Mapping[str, Any], taint: Taint) -> bool:
    """``Toleration.ToleratesTaint``: effect, key and (for ``Equal``) value match; ``Lt``/``Gt`` never do."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(
    taints: Iterable[Taint], tolerations: Iterable[Mapping[str, Any]], effects: Collection[str] = SCHEDULING_EFFECTS
) -> Taint | None:
    """The first taint with an effect in ``effects`` that no toleration tolerates."""
    tols = list(tolerations)
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tols):
            return taint
    return None


def taint_string(taint: Taint) -> str:
    """``corev1.Taint.ToString``: ``key=value:Effect`` (``key:Effect`` without a value)."""
    value = taint.get("value") or ""
    head = f"{taint.get('key')}={value}" if value else str(taint.get("key"))
    return f"{head}:{taint.get('effect')}"
