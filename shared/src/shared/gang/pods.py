"""The pods a Volcano job asks for, and the *gang*: the ones that must be placed together.

A :class:`PodShape` is one pod to place: its requests, ``nodeSelector``, required node affinity
and tolerations. :func:`gang_of` expands a ``batch.volcano.sh/v1alpha1`` ``Job`` into its pods
(``<job>-<task>-<index>``, tasks in order) and splits them as Volcano's gang plugin does: each
task's ``minAvailable`` pods first (default: all its replicas), then further pods in task order
until the job's ``minAvailable`` is reached (default, as the mutating webhook sets it: the sum
of the tasks' ``minAvailable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.gang import resources
from shared.gang.nodes import Node


@dataclass(frozen=True, slots=True)
class PodShape:
    """One pod to place and what constrains where it may go."""

    name: str
    task: str
    requests: Mapping[str, Decimal]
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity_terms: tuple[Mapping[str, Any], ...] = ()
    """``requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`` (ORed)."""
    tolerations: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_template(cls, name: str, task: str, pod_spec: Mapping[str, Any]) -> PodShape:
        node_affinity = (pod_spec.get("affinity") or {}).get("nodeAffinity") or {}
        required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
        return cls(
            name=name,
            task=task,
            requests=resources.pod_requests(pod_spec),
            node_selector={str(k): str(v) for k, v in (pod_spec.get("nodeSelector") or {}).items()},
            affinity_terms=tuple(required.get("nodeSelectorTerms") or ()),
            tolerations=tuple(pod_spec.get("tolerations") or ()),
        )

    @property
    def constraint_key(self) -> str:
        """Equal for pods that may go on exactly the same nodes."""
        return repr((sorted(self.node_selector.items()), self.affinity_terms, self.tolerations))

    def selects(self, node: Node) -> bool:
        """The node satisfies the pod's ``nodeSelector`` and required node affinity."""
        if any(node.labels.get(k) != v for k, v in self.node_selector.items()):
            return False
        if not self.affinity_terms:
            return True
        fields = {"metadata.name": node.name}
        # Terms are ORed; the requirements inside a term are ANDed.
        return any(
            all(_requirement_matches(e, node.labels) for e in term.get("matchExpressions") or ())
            and all(_requirement_matches(e, fields) for e in term.get("matchFields") or ())
            for term in self.affinity_terms
        )

    def selector_terms(self) -> tuple[str, ...]:
        """The node selection in words: ``("node-type=gpu", "zone In (a,b)")``; empty: any node."""
        parts = [f"{k}={v}" for k, v in sorted(self.node_selector.items())]
        for term in self.affinity_terms:
            for expr in term.get("matchExpressions") or ():
                values = ",".join(str(v) for v in expr.get("values") or ())
                text = f"{expr.get('key')} {expr.get('operator')}"
                parts.append(f"{text} ({values})" if values else text)
        return tuple(parts)


def _requirement_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = str(expr.get("key") or ""), expr.get("operator")
    values = [str(v) for v in expr.get("values") or ()]
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


@dataclass(frozen=True, slots=True)
class Gang:
    """A job's pods: the ``pods`` that must all be placed at once, and the ``rest``."""

    pods: tuple[PodShape, ...]
    rest: tuple[PodShape, ...] = ()

    @property
    def min_member(self) -> int:
        return len(self.pods)

    @property
    def requests(self) -> resources.Resources:
        return resources.total(p.requests for p in self.pods)


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


def gang_of(job: Mapping[str, Any]) -> Gang:
    """The gang of a ``batch.volcano.sh`` ``Job`` dict (see the module docstring)."""
    spec = job.get("spec") or {}
    job_name = str((job.get("metadata") or {}).get("name") or "job")
    tasks = list(spec.get("tasks") or ())
    per_task: list[list[PodShape]] = []
    task_minimums: list[int] = []
    for index, task in enumerate(tasks):
        task_name = str(task.get("name") or f"default{index}")
        pod_spec = (task.get("template") or {}).get("spec") or {}
        replicas = max(_int(task.get("replicas")), 0)
        per_task.append(
            [PodShape.from_template(f"{job_name}-{task_name}-{i}", task_name, pod_spec) for i in range(replicas)]
        )
        minimum = task.get("minAvailable")
        task_minimums.append(min(replicas if minimum is None else max(_int(minimum), 0), replicas))
    min_available = _int(spec.get("minAvailable")) or sum(task_minimums)
    gang: list[PodShape] = []
    rest: list[PodShape] = []
    for pods, minimum in zip(per_task, task_minimums, strict=True):
        gang += pods[:minimum]
        rest += pods[minimum:]
    while len(gang) < min_available and rest:
        gang.append(rest.pop(0))
    if len(gang) > min_available:
        rest = gang[min_available:] + rest
        gang = gang[:min_available]
    return Gang(pods=tuple(gang), rest=tuple(rest))
