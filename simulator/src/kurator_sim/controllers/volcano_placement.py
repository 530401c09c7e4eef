"""Gang placement for the simulated Volcano: do all of a job's pods fit on the member's nodes?

Nodes are taken from the member's store: ``status.allocatable`` minus what is already placed
on them. A pod fits a node when the node is schedulable, matches the pod's ``nodeSelector``
and required node affinity, every ``NoSchedule``/``NoExecute`` taint is tolerated, and the
free resources cover the pod's requests (``pods`` included). Pods are placed one by one on
the feasible node that is left fullest (bin-packing, like Volcano's ``binpack`` plugin); a
gang is admitted only if every pod of it is placed.

When a gang does not fit, the failure is described as Volcano's scheduler describes it
(``pkg/scheduler/api/unschedule_info.go``: ``0/4 nodes are unavailable: 2 Insufficient
nvidia.com/gpu, 2 node(s) didn't match Pod's node affinity/selector.``) and, beyond what
Volcano says, by the shortfall: which resource is short, by how much, and on which nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kurator_sim.controllers import volcano_resources as res
from kurator_sim.controllers.volcano_resources import Resources

MISMATCH = "node(s) didn't match Pod's node affinity/selector"
UNSCHEDULABLE = "node(s) were unschedulable"


@dataclass
class NodeState:
    name: str
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    unschedulable: bool
    allocatable: Resources
    used: Resources = field(default_factory=dict)

    @classmethod
    def from_node(cls, node: Mapping[str, Any]) -> NodeState:
        meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
        allocatable = res.parse_list(status.get("allocatable") or status.get("capacity"))
        return cls(
            name=str(meta.get("name")),
            labels=dict(meta.get("labels") or {}),
            taints=list(spec.get("taints") or []),
            unschedulable=bool(spec.get("unschedulable")),
            allocatable=allocatable,
        )

    def free(self) -> Resources:
        return res.subtract(self.allocatable, self.used)

    def reserve(self, requests: Mapping[str, Decimal]) -> None:
        self.used = res.add(self.used, requests)


@dataclass(frozen=True)
class PodShape:
    """One pod to place: its name, task and what constrains it."""

    name: str
    task: str
    requests: Resources
    node_selector: dict[str, str]
    affinity_terms: tuple[dict[str, Any], ...]
    tolerations: tuple[dict[str, Any], ...]

    @classmethod
    def from_template(cls, name: str, task: str, pod_spec: Mapping[str, Any]) -> PodShape:
        required = (
            ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            )
            or {}
        ).get("nodeSelectorTerms") or []
        return cls(
            name=name,
            task=task,
            requests=res.pod_requests(pod_spec),
            node_selector=dict(pod_spec.get("nodeSelector") or {}),
            affinity_terms=tuple(required),
            tolerations=tuple(pod_spec.get("tolerations") or []),
        )

    @property
    def constraint_key(self) -> tuple[str, str]:
        return (repr(sorted(self.node_selector.items())), repr(self.affinity_terms) + repr(self.tolerations))


# --- predicates ------------------------------------------------------------------------------


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), list(expr.get("values") or [])
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


def selects(pod: PodShape, node: NodeState) -> bool:
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    if not pod.affinity_terms:
        return True
    # Terms are ORed; the expressions of a term are ANDed.
    fields = {"metadata.name": node.name}
    return any(
        all(_expression_matches(e, node.labels) for e in term.get("matchExpressions") or [])
        and all(_expression_matches(e, fields) for e in term.get("matchFields") or [])
        for term in pod.affinity_terms
    )


def _tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for tol in tolerations:
        effect = tol.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = tol.get("key") or ""
        if tol.get("operator") == "Exists":
            if not key or key == taint.get("key"):
                return True
            continue
        if key == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated(pod: PodShape, node: NodeState) -> dict[str, Any] | None:
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod.tolerations, taint):
            return taint
    return None


def reasons(pod: PodShape, node: NodeState) -> list[str]:
    """Why ``pod`` cannot go on ``node`` (empty: it fits), in kube-scheduler's words."""
    if node.unschedulable:
        return [UNSCHEDULABLE]
    if not selects(pod, node):
        return [MISMATCH]
    taint = untolerated(pod, node)
    if taint is not None:
        return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}"]
    free = node.free()
    out = []
    for name, value in sorted(pod.requests.items()):
        if value > free.get(name, Decimal(0)):
            out.append("Too many pods" if name == res.PODS else f"Insufficient {name}")
    return out


def eligible(pod: PodShape, node: NodeState) -> bool:
    return not node.unschedulable and selects(pod, node) and untolerated(pod, node) is None


# --- placement -------------------------------------------------------------------------------


@dataclass
class Outcome:
    placed: list[tuple[PodShape, str]]
    failed: PodShape | None = None
    node_reasons: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failed is None


def _fullness(node: NodeState, pod: PodShape) -> Decimal:
    """How full the node would be after taking the pod (bin-packing score; higher is better)."""
    score = Decimal(0)
    for name, value in pod.requests.items():
        capacity = node.allocatable.get(name, Decimal(0))
        if capacity > 0 and name != res.PODS:
            score += (node.used.get(name, Decimal(0)) + value) / capacity
    return score


def place(nodes: Sequence[NodeState], pods: Sequence[PodShape], *, stop_at_first_failure: bool = True) -> Outcome:
    """Place ``pods`` in order, reserving on ``nodes`` as it goes (the caller copies on failure)."""
    outcome = Outcome(placed=[])
    for pod in pods:
        candidates = [n for n in nodes if not reasons(pod, n)]
        if not candidates:
            if outcome.failed is None:
                outcome.failed = pod
                outcome.node_reasons = {n.name: reasons(pod, n) for n in nodes}
            if stop_at_first_failure:
                return outcome
            continue
        best = max(candidates, key=lambda n: (_fullness(n, pod), n.name))
        best.reserve(pod.requests)
        outcome.placed.append((pod, best.name))
    return outcome


def copy_nodes(nodes: Iterable[NodeState]) -> list[NodeState]:
    return [NodeState(n.name, n.labels, n.taints, n.unschedulable, dict(n.allocatable), dict(n.used)) for n in nodes]


# --- messages --------------------------------------------------------------------------------


def fit_error(node_count: int, node_reasons: Mapping[str, list[str]]) -> str:
    """``FitErrors.Error()``: ``0/N nodes are unavailable: <sorted histogram>.``"""
    head = f"0/{node_count} nodes are unavailable"
    if not node_reasons:
        return head
    histogram = Counter(r for rs in node_reasons.values() for r in rs)
    return f"{head}: {', '.join(sorted(f'{n} {r}' for r, n in histogram.items()))}."


def _histogram(counts: Mapping[str, int]) -> str:
    return ", ".join(sorted(f"{n} {r}" for r, n in counts.items() if n))


def not_enqueued_message(min_member: int) -> str:
    """The gang plugin's condition for a PodGroup that was never enqueued (no pods yet)."""
    return f"{min_member}/0 tasks in gang unschedulable: pod group is not ready, {min_member} minAvailable"


def unschedulable_message(min_member: int, total_pods: int, outcome: Outcome, node_count: int) -> str:
    """The gang plugin's condition once pods exist but the gang cannot be placed."""
    schedulable = len(outcome.placed)
    attempted = schedulable + (1 if outcome.failed else 0)
    unready = min_member  # nothing of the gang is bound: the trial placement is discarded
    states = _histogram({"Pending": total_pods, "minAvailable": min_member})
    pending = _histogram(
        {
            "Schedulable": schedulable,
            "Unschedulable": 1 if outcome.failed else 0,
            "Undetermined": total_pods - attempted,
        }
    )
    message = (
        f"{unready}/{total_pods} tasks in gang unschedulable: pod group is not ready, {states}; Pending: {pending}"
    )
    if outcome.failed is not None:
        message += f". Origin reason is {outcome.failed.name}: {fit_error(node_count, outcome.node_reasons)}"
    return message


def describe_selector(pod: PodShape) -> str:
    parts = [f"{k}={v}" for k, v in sorted(pod.node_selector.items())]
    for term in pod.affinity_terms:
        for expr in term.get("matchExpressions") or []:
            values = ",".join(expr.get("values") or [])
            parts.append(
                f"{expr.get('key')} {expr.get('operator')} ({values})"
                if values
                else f"{expr.get('key')} {expr.get('operator')}"
            )
    return "nodes with " + ", ".join(parts) if parts else "the cluster's nodes"


def shortfall(nodes: Sequence[NodeState], gang: Sequence[PodShape], failed: PodShape) -> str:
    """What is missing for the gang, e.g. ``insufficient nvidia.com/gpu: need 2 more on nodes with node-type=gpu``.

    ``nodes`` are the nodes as they were before the gang was tried.
    """
    where = describe_selector(failed)
    candidates = [n for n in nodes if eligible(failed, n)]
    if not candidates:
        if not any(not n.unschedulable and selects(failed, n) for n in nodes):
            return f"no schedulable node matches the pod's node selector/affinity: {where}"
        return f"every one of the {where} has a taint the pod does not tolerate"
    group = [p for p in gang if p.constraint_key == failed.constraint_key]
    need = res.total(p.requests for p in group)
    free = res.total(n.free() for n in candidates)
    short = res.shortages(need, free)
    if short:
        return "; ".join(
            f"insufficient {name}: need {res.format_quantity(name, value)} more on {where}"
            for name, value in sorted(short.items())
        )
    messages = []
    for name, value in sorted(failed.requests.items()):
        largest = max((n.free().get(name, Decimal(0)) for n in candidates), default=Decimal(0))
        if value > largest:
            messages.append(
                f"insufficient {name} on any single one of the {where}: a pod of task {failed.task} needs "
                f"{res.format_quantity(name, value)}, the most free on one node is {res.format_quantity(name, largest)}"
            )
    return "; ".join(messages) or f"the gang does not pack onto the {where}"


def cluster_shortfall(need: Mapping[str, Decimal], idle: Mapping[str, Decimal], where: str) -> str:
    short = res.shortages(need, idle)
    return "; ".join(
        f"insufficient {name}: need {res.format_quantity(name, value)} more {where}"
        for name, value in sorted(short.items())
    )
