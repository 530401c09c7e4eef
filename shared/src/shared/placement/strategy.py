"""Reading a ``placement``: replica strategy, spread constraints, and Karmada's defaults.

The engine reads placements as Karmada's scheduler does: as stored, after the admission
webhook. :func:`webhook_defaults` applies that webhook's defaults (``spreadByField: cluster``,
``minGroups: 1``, ``Divided`` + ``Weighted``) for callers holding a policy as written, such as
``kurator plan``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

DUPLICATED: Final = "Duplicated"
AGGREGATED: Final = "Aggregated"
STATIC_WEIGHT: Final = "StaticWeight"
DYNAMIC_WEIGHT: Final = "DynamicWeight"


def replica_scheduling_strategy(placement: Mapping[str, Any] | None) -> str:
    """``newAssignState``'s strategy: Duplicated/Aggregated/StaticWeight/DynamicWeight, or "" (unsupported)."""
    rs = (placement or {}).get("replicaScheduling")
    if rs is None:
        return DUPLICATED
    kind = rs.get("replicaSchedulingType") or "Divided"  # the CRD default
    if kind == "Duplicated":
        return DUPLICATED
    if kind != "Divided":
        return ""
    preference = rs.get("replicaDivisionPreference")
    if preference == "Aggregated":
        return AGGREGATED
    if preference == "Weighted":
        wp = rs.get("weightPreference")
        return DYNAMIC_WEIGHT if wp is not None and wp.get("dynamicWeight") else STATIC_WEIGHT
    return ""


def is_divided(placement: Mapping[str, Any] | None) -> bool:
    """``Placement.ReplicaSchedulingType() == Divided`` (an absent type is the CRD default, Divided)."""
    rs = (placement or {}).get("replicaScheduling")
    return rs is not None and (rs.get("replicaSchedulingType") or "Divided") == "Divided"


def is_duplicated_for_groups(placement: Mapping[str, Any] | None) -> bool:
    """``checkIfDuplicate``: group scores count clusters that can hold every replica."""
    rs = (placement or {}).get("replicaScheduling")
    return rs is None or rs.get("replicaSchedulingType") == "Duplicated"


def ignores_spread_constraints(placement: Mapping[str, Any]) -> bool:
    """``shouldIgnoreSpreadConstraint``: static weighting places on every feasible cluster."""
    rs = placement.get("replicaScheduling")
    if rs is None or not is_divided(placement) or rs.get("replicaDivisionPreference") != "Weighted":
        return False
    wp = rs.get("weightPreference")
    return wp is None or (bool(wp.get("staticWeightList")) and not wp.get("dynamicWeight"))


def ignores_capacity_in_selection(placement: Mapping[str, Any]) -> bool:
    """``shouldIgnoreAvailableResource``: Duplicated selects by order alone."""
    rs = placement.get("replicaScheduling")
    return rs is None or rs.get("replicaSchedulingType") == "Duplicated"


def spread_constraints(placement: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``{spreadByField: constraint}``, the last constraint for a field winning (Go map fill)."""
    return {str(c.get("spreadByField") or ""): c for c in placement.get("spreadConstraints") or ()}


def groups(constraint: Mapping[str, Any] | None) -> tuple[int, int]:
    """``(minGroups, maxGroups)`` of a constraint; a missing constraint is all zeros."""
    if constraint is None:
        return 0, 0
    return int(constraint.get("minGroups") or 0), int(constraint.get("maxGroups") or 0)


def webhook_defaults(placement: Mapping[str, Any] | None) -> dict[str, Any]:
    """``placement`` as Karmada's mutating webhook stores it (a copy; the input is not changed)."""
    out: dict[str, Any] = copy.deepcopy(dict(placement or {}))
    for constraint in out.get("spreadConstraints") or ():
        if not isinstance(constraint, dict):
            continue
        if not constraint.get("spreadByField") and not constraint.get("spreadByLabel"):
            constraint["spreadByField"] = "cluster"
        if not constraint.get("minGroups"):
            constraint["minGroups"] = 1
    scheduling = out.get("replicaScheduling")
    if isinstance(scheduling, dict):
        scheduling.setdefault("replicaSchedulingType", "Divided")
        if scheduling["replicaSchedulingType"] == "Divided" and not scheduling.get("replicaDivisionPreference"):
            scheduling["replicaDivisionPreference"] = "Weighted"
    return out
