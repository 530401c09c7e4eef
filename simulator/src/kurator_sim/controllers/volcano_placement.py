"""Gang placement in Volcano's words: the simulator's messages, from :mod:`shared.gang`'s data.

Where pods go and why a gang does not fit is decided by :mod:`shared.gang` (the same code the
apps service predicts with). This module words the result as Volcano's scheduler does
(``pkg/scheduler/api/unschedule_info.go``: ``0/4 nodes are unavailable: 2 Insufficient
nvidia.com/gpu, 2 node(s) didn't match Pod's node affinity/selector.``) and, beyond what
Volcano says, the shortfall: which resource is short, by how much, and on which nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal

from kurator_sim.controllers import volcano_resources as res
from shared.gang.packing import NodeState, Outcome
from shared.gang.pods import PodShape
from shared.gang.predicates import Blocker, BlockerKind
from shared.gang.shortfall import Shortfall, ShortfallKind, explain

MISMATCH = "node(s) didn't match Pod's node affinity/selector"
UNSCHEDULABLE = "node(s) were unschedulable"
# A NotReady node carries the node lifecycle controller's taint; that is what the scheduler names.
NOT_READY = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"


def blocker_text(blocker: Blocker) -> str:
    """kube-scheduler's wording of one reason a pod does not fit a node."""
    if blocker.kind is BlockerKind.NOT_READY:
        return NOT_READY
    if blocker.kind is BlockerKind.UNSCHEDULABLE:
        return UNSCHEDULABLE
    if blocker.kind is BlockerKind.SELECTOR_MISMATCH:
        return MISMATCH
    if blocker.kind is BlockerKind.UNTOLERATED_TAINT:
        taint = blocker.taint or {}
        return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}"
    return "Too many pods" if blocker.resource == res.PODS else f"Insufficient {blocker.resource}"


def fit_error(node_count: int, node_blockers: Mapping[str, Sequence[Blocker]]) -> str:
    """``FitErrors.Error()``: ``0/N nodes are unavailable: <sorted histogram>.``"""
    head = f"0/{node_count} nodes are unavailable"
    if not node_blockers:
        return head
    histogram = Counter(blocker_text(b) for found in node_blockers.values() for b in found)
    return f"{head}: {', '.join(sorted(f'{n} {r}' for r, n in histogram.items()))}."


def _histogram(counts: Mapping[str, int]) -> str:
    return ", ".join(sorted(f"{n} {r}" for r, n in counts.items() if n))


def not_enqueued_message(min_member: int) -> str:
    """The gang plugin's condition for a PodGroup that was never enqueued (no pods yet)."""
    return f"{min_member}/0 tasks in gang unschedulable: pod group is not ready, {min_member} minAvailable"


def unschedulable_message(min_member: int, total_pods: int, outcome: Outcome, node_count: int) -> str:
    """The gang plugin's condition once pods exist but the gang cannot be placed."""
    failed = outcome.first_failed
    schedulable = len(outcome.placed)
    attempted = schedulable + (1 if failed else 0)
    unready = min_member  # nothing of the gang is bound: the trial placement is discarded
    states = _histogram({"Pending": total_pods, "minAvailable": min_member})
    pending = _histogram(
        {
            "Schedulable": schedulable,
            "Unschedulable": 1 if failed else 0,
            "Undetermined": total_pods - attempted,
        }
    )
    message = (
        f"{unready}/{total_pods} tasks in gang unschedulable: pod group is not ready, {states}; Pending: {pending}"
    )
    if failed is not None:
        message += f". Origin reason is {failed.name}: {fit_error(node_count, outcome.node_blockers)}"
    return message


def _shortfall_text(found: Shortfall) -> str:
    where = found.where
    name = found.resource or ""
    if found.kind in (ShortfallKind.NO_NODES, ShortfallKind.NO_MATCHING_NODE, ShortfallKind.NO_USABLE_NODE):
        return f"no schedulable node matches the pod's node selector/affinity: {where}"
    if found.kind is ShortfallKind.UNTOLERATED_TAINT:
        return f"every one of the {where} has a taint the pod does not tolerate"
    if found.kind is ShortfallKind.INSUFFICIENT:
        return f"insufficient {name}: need {res.format_quantity(name, found.short or Decimal(0))} more on {where}"
    if found.kind is ShortfallKind.FRAGMENTED:
        return (
            f"insufficient {name} on any single one of the {where}: a pod of task {found.task} needs "
            f"{res.format_quantity(name, found.needed or Decimal(0))}, the most free on one node is "
            f"{res.format_quantity(name, found.free or Decimal(0))}"
        )
    return f"the gang does not pack onto the {where}"


def shortfall(before: Sequence[NodeState], gang: Sequence[PodShape], failed: PodShape) -> str:
    """What is missing for the gang, e.g. ``insufficient nvidia.com/gpu: need 2 more on nodes with node-type=gpu``.

    ``before`` are the nodes as they were before the gang was tried.
    """
    return "; ".join(_shortfall_text(found) for found in explain(before, gang, failed))


def cluster_shortfall(need: Mapping[str, Decimal], idle: Mapping[str, Decimal], where: str) -> str:
    short = res.shortages(need, idle)
    return "; ".join(
        f"insufficient {name}: need {res.format_quantity(name, value)} more {where}"
        for name, value in sorted(short.items())
    )
