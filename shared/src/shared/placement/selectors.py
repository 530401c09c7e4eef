"""Karmada's cluster matching (``util.ClusterMatches``), label selectors and tolerations.

Two forms of the same rules: on one object (:func:`cluster_matches`,
:func:`label_selector_matches`, used for resource templates and single clusters) and on a
whole :class:`~shared.placement.views.Snapshot` at once (:func:`affinity_mask`: the bit mask of
the clusters that match, built from the snapshot's label and field indexes). An invalid
selector (bad key or value, unknown operator, wrong number of values) matches nothing, as
``LabelSelectorAsSelector`` / ``NodeSelectorRequirementsAsSelector`` return an error there.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from shared.contracts import validation
from shared.placement.views import Snapshot

_SET_OPS = ("In", "NotIn")
_EXIST_OPS = ("Exists", "DoesNotExist")
_FIELDS = ("provider", "region")


# --- validity (labels.NewRequirement) ------------------------------------------------------


def _valid_requirement(key: Any, op: Any, values: list[Any], *, numeric: bool = False) -> bool:
    if not isinstance(key, str) or validation.label_key_error(key) is not None:
        return False
    if op in _SET_OPS:
        if not values:
            return False
    elif op in _EXIST_OPS:
        if values:
            return False
    elif numeric and op in ("Gt", "Lt"):
        if len(values) != 1:
            return False
        try:
            int(str(values[0]), 10)
        except ValueError:
            return False
    else:
        return False
    return all(isinstance(v, str) and validation.label_value_error(v) is None for v in values)


def _valid_label_selector(selector: Mapping[str, Any]) -> bool:
    for key, val in (selector.get("matchLabels") or {}).items():
        if not _valid_requirement(key, "In", [val]):
            return False
    for expr in selector.get("matchExpressions") or ():
        if not _valid_requirement(expr.get("key"), expr.get("operator"), list(expr.get("values") or ())):
            return False
    return True


# --- one object ----------------------------------------------------------------------------


def label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """``metav1.LabelSelectorAsSelector(selector).Matches(labels)``; an invalid selector matches nothing."""
    if not _valid_label_selector(selector):
        return False
    for key, val in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != val:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or ())
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def match_zones(expr: Mapping[str, Any], zones: Collection[str]) -> bool:
    """``matchZones``: ``In`` means any overlap; other operators than the four match nothing."""
    values = list(expr.get("values") or ())
    op = expr.get("operator")
    if op == "In":
        return bool(zones) and any(z in values for z in zones)
    if op == "NotIn":
        return not any(z in values for z in zones)
    if op == "Exists":
        return bool(zones)
    if op == "DoesNotExist":
        return not zones
    return False


def _node_requirement(expr: Mapping[str, Any], fields: Mapping[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or ())
    present = key in fields
    if op == "In":
        return present and fields[str(key)] in values
    if op == "NotIn":
        return not present or fields[str(key)] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if not present:
        return False
    try:
        have = int(fields[str(key)], 10)
    except ValueError:
        return False
    want = int(str(values[0]), 10)
    return have > want if op == "Gt" else have < want


def _split_fields(affinity: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], bool]:
    """``(zone expressions, other expressions, valid)`` of ``affinity.fieldSelector``."""
    zone_exprs: list[Mapping[str, Any]] = []
    others: list[Mapping[str, Any]] = []
    for expr in (affinity.get("fieldSelector") or {}).get("matchExpressions") or ():
        (zone_exprs if expr.get("key") == "zone" else others).append(expr)
    valid = all(
        _valid_requirement(e.get("key"), e.get("operator"), list(e.get("values") or ()), numeric=True) for e in others
    )
    return zone_exprs, others, valid


def cluster_matches(cluster: Mapping[str, Any], affinity: Mapping[str, Any] | None) -> bool:
    """Karmada's ``util.ClusterMatches``: every criterion present must hold."""
    if affinity is None:
        return True
    meta = cluster.get("metadata") or {}
    spec = cluster.get("spec") or {}
    name = meta.get("name")
    if name in (affinity.get("exclude") or ()):
        return False
    selector = affinity.get("labelSelector")
    if selector is not None and not label_selector_matches(selector, meta.get("labels") or {}):
        return False
    if affinity.get("fieldSelector") is not None:
        zone_exprs, others, valid = _split_fields(affinity)
        zones = list(spec.get("zones") or ())
        if not all(match_zones(e, zones) for e in zone_exprs):
            return False
        if others:
            fields = {k: str(spec[k]) for k in _FIELDS if spec.get(k)}
            if not valid or not all(_node_requirement(e, fields) for e in others):
                return False
    names = affinity.get("clusterNames") or ()
    return not names or name in names


# --- a whole snapshot ----------------------------------------------------------------------


def _label_mask(snap: Snapshot, selector: Mapping[str, Any]) -> int:
    if not _valid_label_selector(selector):
        return 0
    index = snap.labels()
    mask = snap.all
    for key, val in (selector.get("matchLabels") or {}).items():
        mask &= index.get(key, {}).get(val, 0)
    for expr in selector.get("matchExpressions") or ():
        key, op = expr["key"], expr["operator"]
        if op in _SET_OPS:
            by_value = index.get(key, {})
            hit = 0
            for val in expr.get("values") or ():
                hit |= by_value.get(val, 0)
            mask &= hit if op == "In" else snap.all & ~hit
        elif op == "Exists":
            mask &= snap.label_key(key)
        else:
            mask &= snap.all & ~snap.label_key(key)
    return mask


def _zone_mask(snap: Snapshot, expr: Mapping[str, Any]) -> int:
    op = expr.get("operator")
    by_zone = snap.fields()["zone"]
    if op in _SET_OPS:
        hit = 0
        for val in expr.get("values") or ():
            hit |= by_zone.get(val, 0)
        return hit if op == "In" else snap.all & ~hit
    if op == "Exists":
        return snap.has("zone")
    if op == "DoesNotExist":
        return snap.all & ~snap.has("zone")
    return 0


def _field_mask(snap: Snapshot, expr: Mapping[str, Any]) -> int:
    key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or ())
    if key not in _FIELDS:  # absent for every cluster: k8s semantics for a missing key
        return snap.all if op in ("NotIn", "DoesNotExist") else 0
    by_value = snap.fields()[str(key)]
    present = snap.has(str(key))
    if op in _SET_OPS:
        hit = 0
        for val in values:
            hit |= by_value.get(val, 0)
        return hit if op == "In" else snap.all & ~hit
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return snap.all & ~present
    out = 0
    for val, m in by_value.items():
        if _node_requirement(expr, {str(key): val}):
            out |= m
    return out


def affinity_mask(snap: Snapshot, affinity: Mapping[str, Any] | None) -> int:
    """The clusters of ``snap`` that :func:`cluster_matches` ``affinity``."""
    if affinity is None:
        return snap.all
    mask = snap.all
    exclude = affinity.get("exclude")
    if exclude:
        mask &= ~snap.names_mask(exclude)
    selector = affinity.get("labelSelector")
    if selector is not None:
        mask &= _label_mask(snap, selector)
    if affinity.get("fieldSelector") is not None:
        zone_exprs, others, valid = _split_fields(affinity)
        for expr in zone_exprs:
            mask &= _zone_mask(snap, expr)
        if others:
            if not valid:
                return 0
            for expr in others:
                mask &= _field_mask(snap, expr)
    names = affinity.get("clusterNames")
    if names:
        mask &= snap.names_mask(names)
    return mask


# --- taints and tolerations ----------------------------------------------------------------


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """k8s ``Toleration.ToleratesTaint`` (the ``Lt``/``Gt`` operators never match)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(
    taints: Iterable[Mapping[str, Any]], tolerations: Iterable[Mapping[str, Any]], effects: Collection[str]
) -> Mapping[str, Any] | None:
    """The first taint with an effect in ``effects`` that no toleration tolerates."""
    tols = list(tolerations)
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tols):
            return taint
    return None


def taint_string(taint: Mapping[str, Any]) -> str:
    """``corev1.Taint.ToString``: ``key=value:Effect`` (``key:Effect`` without a value)."""
    value = taint.get("value") or ""
    head = f"{taint.get('key')}={value}" if value else str(taint.get("key"))
    return f"{head}:{taint.get('effect')}"
