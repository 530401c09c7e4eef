"""The simulator's interim Karmada placement engine: one pure function, :func:`place`.

Interface (kept narrow on purpose: the exact engine of issue 4, in ``shared/``, replaces this
module behind the same call)::

    place(placement, replicas, clusters, previous, *,
          replica_requirements=None, uid="", resource=None, evicted=(), reschedule=False,
          affinity_name="") -> list[{"name": str, "replicas": int}]

* ``placement``: a binding's ``spec.placement`` (Karmada-native fields only; anything else is
  ignored exactly as Karmada ignores unknown fields).
* ``replicas``: ``spec.replicas`` (0 for non-workloads such as Services and ConfigMaps).
* ``clusters``: ``cluster.karmada.io/v1alpha1`` ``Cluster`` objects (labels, spec, status).
* ``previous``: the binding's current ``spec.clusters`` (``[{name, replicas}]``).
* keywords: ``replica_requirements`` (``spec.replicaRequirements``), ``uid``
  (``spec.resource.uid``, for the Webster tie-break), ``resource`` (``(apiVersion, kind)`` for the
  API-enablement filter; ``None`` skips it), ``evicted`` (``fromCluster`` of graceful eviction
  tasks), ``reschedule`` (``rescheduleTriggeredAt`` is after ``lastScheduledTime``),
  ``affinity_name`` (``status.schedulerObservingAffinityName``).

Returns the new ``spec.clusters``; non-workloads get ``{"name"}`` entries without replicas.
Raises :class:`NoFit` carrying the ``Scheduled`` condition reason Karmada would record:
``NoClusterFit`` (no cluster passed the filters; the message is Karmada's ``0/N clusters are
available: ...``), ``Unschedulable`` (not enough capacity) or ``SchedulerError``.
:func:`place_detailed` also returns the affinity term used (``clusterAffinities`` failover).

Semantics follow ``shared/docs/karmada-placement-spec.md`` (Karmada >= v1.16): filters (API
enablement, taints/tolerations, cluster affinity with names/exclude/label and field selectors,
spread-field presence, eviction), locality score, the general capacity estimator over
``resourceSummary``, ``cluster`` spread constraints (``maxGroups`` / ``minGroups``), Duplicated,
Divided with static weights, dynamic weights and Aggregated, and Webster division with the
workload-UID parity tie-break. Health is not a filter: not-ready clusters are kept out by the
taints the cluster controller puts on them, as in Karmada. Not covered here (they raise
``SchedulerError``): ``region`` spread constraints and ``overflowAffinities``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kurator_sim.controllers import kube_quantity as q
from kurator_sim.controllers.karmada_names import fnv1a32

Obj = dict[str, Any]
MAX_INT32 = 2**31 - 1

NO_CLUSTER_FIT = "NoClusterFit"
UNSCHEDULABLE = "Unschedulable"
SCHEDULER_ERROR = "SchedulerError"

_DUPLICATED, _AGGREGATED, _STATIC, _DYNAMIC = "Duplicated", "Aggregated", "StaticWeight", "DynamicWeight"


class NoFit(Exception):  # noqa: N818 - the name the fleet service and tests use
    """No placement: ``reason`` is the binding's ``Scheduled=False`` reason, ``message`` its text."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class PlacementResult:
    clusters: list[Obj]
    affinity_name: str
    """The ``clusterAffinities`` term that was used ("" with a plain ``clusterAffinity``)."""


@dataclass(slots=True)
class _Candidate:
    name: str
    cluster: Mapping[str, Any]
    score: int
    allocatable: int
    """New replicas that fit (the estimate)."""
    available: int
    """``allocatable`` plus what the workload already runs there."""


# --- public API -------------------------------------------------------------------------------


def place(
    placement: Mapping[str, Any] | None,
    replicas: int,
    clusters: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
    *,
    replica_requirements: Mapping[str, Any] | None = None,
    uid: str = "",
    resource: tuple[str, str] | None = None,
    evicted: Collection[str] = (),
    reschedule: bool = False,
    affinity_name: str = "",
) -> list[Obj]:
    """The scheduling result for one binding (see the module docstring)."""
    return place_detailed(
        placement,
        replicas,
        clusters,
        previous,
        replica_requirements=replica_requirements,
        uid=uid,
        resource=resource,
        evicted=evicted,
        reschedule=reschedule,
        affinity_name=affinity_name,
    ).clusters


def place_detailed(
    placement: Mapping[str, Any] | None,
    replicas: int,
    clusters: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
    *,
    replica_requirements: Mapping[str, Any] | None = None,
    uid: str = "",
    resource: tuple[str, str] | None = None,
    evicted: Collection[str] = (),
    reschedule: bool = False,
    affinity_name: str = "",
) -> PlacementResult:
    placement = placement or {}
    job = _Job(placement, replicas, clusters, previous, replica_requirements, uid, resource, set(evicted), reschedule)
    terms = placement.get("clusterAffinities")
    if placement.get("clusterAffinity") is not None or not terms:
        return PlacementResult(job.schedule(placement.get("clusterAffinity")), "")
    names = [str(t.get("affinityName") or "") for t in terms]
    start = 0 if reschedule or affinity_name not in names else names.index(affinity_name)
    first: NoFit | None = None
    for term in terms[start:]:
        if term.get("overflowAffinities"):
            raise NoFit(SCHEDULER_ERROR, "overflowAffinities are not supported by the simulator's placement engine")
        try:
            return PlacementResult(job.schedule(term), str(term.get("affinityName") or ""))
        except NoFit as exc:
            first = first or exc
    assert first is not None
    raise first


def cluster_matches(cluster: Mapping[str, Any], affinity: Mapping[str, Any] | None) -> bool:
    """Karmada's ``util.ClusterMatches``: every criterion present must hold."""
    if affinity is None:
        return True
    name = _name(cluster)
    if name in (affinity.get("exclude") or ()):
        return False
    selector = affinity.get("labelSelector")
    if selector is not None and not label_selector_matches(selector, _labels(cluster)):
        return False
    field_selector = affinity.get("fieldSelector")
    if field_selector is not None:
        spec = cluster.get("spec") or {}
        others = []
        for expr in field_selector.get("matchExpressions") or ():
            if expr.get("key") == "zone":
                if not _match_zones(expr, list(spec.get("zones") or ())):
                    return False
            else:
                others.append(expr)
        if others:
            fields = {k: str(spec[k]) for k in ("provider", "region") if spec.get(k)}
            if not all(_node_requirement(expr, fields) for expr in others):
                return False
    names = affinity.get("clusterNames") or ()
    return not names or name in names


def label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """``metav1.LabelSelectorAsSelector(selector).Matches(labels)``; an invalid selector matches nothing."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or ())
        present = key in labels
        if op == "In":
            if not values or not present or labels[key] not in values:
                return False
        elif op == "NotIn":
            if not values or (present and labels[key] in values):
                return False
        elif op == "Exists":
            if values or not present:
                return False
        elif op == "DoesNotExist":
            if values or present:
                return False
        else:
            return False
    return True


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


def replica_scheduling_strategy(placement: Mapping[str, Any] | None) -> str:
    """``Duplicated``/``Aggregated``/``StaticWeight``/``DynamicWeight``, or "" (unsupported)."""
    rs = (placement or {}).get("replicaScheduling")
    if rs is None:
        return _DUPLICATED
    kind = rs.get("replicaSchedulingType") or "Divided"
    if kind == "Duplicated":
        return _DUPLICATED
    if kind != "Divided":
        return ""
    preference = rs.get("replicaDivisionPreference")
    if preference == "Aggregated":
        return _AGGREGATED
    if preference == "Weighted":
        wp = rs.get("weightPreference")
        return _DYNAMIC if wp is not None and wp.get("dynamicWeight") else _STATIC
    return ""


def is_divided(placement: Mapping[str, Any] | None) -> bool:
    """``Placement.ReplicaSchedulingType() == Divided`` (absent type defaults to Divided)."""
    rs = (placement or {}).get("replicaScheduling")
    return rs is not None and (rs.get("replicaSchedulingType") or "Divided") == "Divided"


def webster(
    new_seats: int,
    votes: Iterable[tuple[str, int]],
    initial: Mapping[str, int] | None = None,
    *,
    uid: str | None = None,
) -> list[tuple[str, int]]:
    """Webster / Sainte-Laguë division (``AllocateWebsterSeats``) with Karmada's tie-breaks.

    Each seat goes to the highest ``votes / (2 * seats + 1)``; exact ties go to the party with
    fewer seats, then by name: ascending, or descending when ``uid`` is given and its FNV-1a-32
    hash is odd. Returns every party, sorted by name, with its seats.
    """
    parties: dict[str, list[int]] = {name: [0, seats] for name, seats in (initial or {}).items()}
    for name, v in votes:
        parties.setdefault(name, [0, 0])[0] = v
    if not parties:
        return []
    descending = bool(uid) and fnv1a32(str(uid).encode()) % 2 == 1
    for _ in range(max(0, new_seats)):
        best: str | None = None
        for name, (v, seats) in parties.items():
            if best is None:
                best = name
                continue
            bv, bs = parties[best]
            left, right = v * (2 * bs + 1), bv * (2 * seats + 1)
            if left > right or (
                left == right and (seats < bs or (seats == bs and ((name > best) if descending else (name < best))))
            ):
                best = name
        assert best is not None
        parties[best][1] += 1
    return sorted((name, seats) for name, (_, seats) in parties.items())


def allocate_by_weight(replicas: int, weights: Sequence[tuple[str, int]], uid: str = "") -> list[tuple[str, int]]:
    """``Dispenser(replicas, [], uid).AllocateByWeight(weights)``."""
    if sum(w for _, w in weights) == 0:
        return []
    return webster(replicas, weights, uid=uid)


def max_available_replicas(cluster: Mapping[str, Any], replica_requirements: Mapping[str, Any] | None) -> int:
    """The general estimator: replicas of this shape that ``resourceSummary`` still has room for."""
    summary = (cluster.get("status") or {}).get("resourceSummary")
    if not summary:
        return 0
    allocatable = q.parse_list(summary.get("allocatable"))
    used = q.add(q.parse_list(summary.get("allocated")), q.parse_list(summary.get("allocating")))
    allowed_pods = q.value(allocatable.get("pods", Decimal(0)) - used.get("pods", Decimal(0)))
    if allowed_pods <= 0:
        return 0
    request = q.parse_list((replica_requirements or {}).get("resourceRequest"))
    if not request:
        return allowed_pods
    best = allowed_pods
    for name, need in request.items():
        if q.value(need) <= 0:
            continue
        if name not in allocatable:
            return 0
        free = allocatable[name] - used.get(name, Decimal(0))
        if q.value(free) <= 0:
            return 0
        fit = q.milli_value(free) // q.milli_value(need) if name == "cpu" else q.value(free) // q.value(need)
        best = min(best, fit)
    return best


# --- one scheduling pass ----------------------------------------------------------------------


class _Job:
    def __init__(
        self,
        placement: Mapping[str, Any],
        replicas: int,
        clusters: Sequence[Mapping[str, Any]],
        previous: Sequence[Mapping[str, Any]],
        requirements: Mapping[str, Any] | None,
        uid: str,
        resource: tuple[str, str] | None,
        evicted: set[str],
        reschedule: bool,
    ) -> None:
        self.placement = placement
        self.replicas = max(0, int(replicas))
        self.clusters = clusters
        self.previous = [(str(c["name"]), int(c.get("replicas") or 0)) for c in previous if c.get("name")]
        self.prev = dict(self.previous)
        self.requirements = requirements
        self.uid = uid
        self.resource = resource
        self.evicted = evicted
        self.reschedule = reschedule
        self.strategy = replica_scheduling_strategy(placement)
        self.workload = self.replicas > 0 or requirements is not None

    def schedule(self, affinity: Mapping[str, Any] | None) -> list[Obj]:
        feasible = self._filter(affinity)
        candidates = self._select(self._rank(feasible))
        return self._assign(candidates)

    # filters ---------------------------------------------------------------------------------

    def _filter(self, affinity: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
        reasons: Counter[str] = Counter()
        feasible = []
        for cluster in self.clusters:
            if (cluster.get("metadata") or {}).get("deletionTimestamp"):
                continue
            reason = self._why_not(cluster, affinity)
            if reason is None:
                feasible.append(cluster)
            else:
                reasons[reason] += 1
        if not feasible:
            detail = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
            raise NoFit(NO_CLUSTER_FIT, f"0/{len(self.clusters)} clusters are available: {detail}.")
        return feasible

    def _why_not(self, cluster: Mapping[str, Any], affinity: Mapping[str, Any] | None) -> str | None:
        name = _name(cluster)
        scheduled = name in self.prev
        spec = cluster.get("spec") or {}
        if self.resource is not None and not scheduled and not _api_enabled(cluster, *self.resource):
            return "cluster(s) did not have the API resource"
        if not scheduled:
            taint = untolerated_taint(
                spec.get("taints") or (),
                self.placement.get("clusterTolerations") or (),
                ("NoSchedule", "NoExecute"),
            )
            if taint is not None:
                return f"cluster(s) had untolerated taint {{{taint_string(taint)}}}"
        if not cluster_matches(cluster, affinity):
            return "cluster(s) did not match the placement cluster affinity constraint"
        for constraint in self.placement.get("spreadConstraints") or ():
            by = constraint.get("spreadByField")
            if by == "provider" and not spec.get("provider"):
                return "cluster(s) did not have provider property"
            if by == "region" and not spec.get("region"):
                return "cluster(s) did not have region property"
            if by == "zone" and not spec.get("zones"):
                return "cluster(s) did not have zones property"
        if name in self.evicted:
            return "cluster(s) is in the process of eviction"
        return None

    # score, estimate and order ---------------------------------------------------------------

    def _rank(self, feasible: list[Mapping[str, Any]]) -> list[_Candidate]:
        out = []
        for cluster in feasible:
            name = _name(cluster)
            if not self.workload:
                estimate = MAX_INT32
            else:
                estimate = max_available_replicas(cluster, self.requirements)
                if estimate == MAX_INT32:
                    estimate = self.replicas
            previous = self.prev.get(name, 0)
            score = 100 if name in self.prev else 0
            out.append(_Candidate(name, cluster, score, estimate, estimate + previous))
        out.sort(key=lambda c: (-c.score, -c.available, c.name))
        return out

    def _select(self, ranked: list[_Candidate]) -> list[_Candidate]:
        constraints = self.placement.get("spreadConstraints") or []
        if not constraints or self._ignores_spread():
            return ranked
        by_field = {c.get("spreadByField") or ("" if c.get("spreadByLabel") else "cluster"): c for c in constraints}
        if "region" in by_field:
            raise NoFit(SCHEDULER_ERROR, "region spread constraints are not supported by the simulator's engine")
        if "cluster" not in by_field:
            raise NoFit(SCHEDULER_ERROR, "just support cluster and region spread constraint")
        need = -1 if self.strategy == _DUPLICATED else self.replicas
        return _select_by_cluster(by_field["cluster"], ranked, need)

    def _ignores_spread(self) -> bool:
        rs = self.placement.get("replicaScheduling") or {}
        if self.strategy not in (_STATIC, _DYNAMIC) or rs.get("replicaDivisionPreference") != "Weighted":
            return False
        wp = rs.get("weightPreference")
        return wp is None or (bool(wp.get("staticWeightList")) and not wp.get("dynamicWeight"))

    # replica assignment ----------------------------------------------------------------------

    def _assign(self, candidates: list[_Candidate]) -> list[Obj]:
        if not candidates:
            raise NoFit(SCHEDULER_ERROR, "no clusters available to schedule")
        if not self.workload:
            return [{"name": c.name} for c in candidates]
        if self.strategy == _DUPLICATED:
            result = [(c.name, self.replicas) for c in candidates]
        elif self.strategy == _STATIC:
            result = self._static(candidates)
        elif self.strategy in (_DYNAMIC, _AGGREGATED):
            result = self._dynamic(candidates)
        else:
            raise NoFit(SCHEDULER_ERROR, "unsupported replica scheduling strategy")
        return [{"name": name, "replicas": n} for name, n in result if n > 0]

    def _static(self, candidates: list[_Candidate]) -> list[tuple[str, int]]:
        wp = ((self.placement.get("replicaScheduling") or {}).get("weightPreference")) or None
        if wp is None:
            rules: list[Mapping[str, Any]] = [
                {"targetCluster": {"clusterNames": [c.name]}, "weight": 1} for c in candidates
            ]
        else:
            rules = list(wp.get("staticWeightList") or ())
        weights = []
        for c in candidates:
            w = max(
                (int(r.get("weight") or 0) for r in rules if cluster_matches(c.cluster, r.get("targetCluster") or {})),
                default=0,
            )
            if w > 0:
                weights.append((c.name, w))
        if not weights:
            weights = [(c.name, 1) for c in candidates]
        return allocate_by_weight(self.replicas, weights, self.uid)

    def _dynamic(self, candidates: list[_Candidate]) -> list[tuple[str, int]]:
        names = {c.name for c in candidates}
        scheduled = [(n, r) for n, r in self.previous if n in names]
        assigned = sum(r for _, r in scheduled)
        if self.reschedule:
            avail = _stable_desc([(c.name, c.allocatable + self.prev.get(c.name, 0)) for c in candidates])
            return self._divide(self.replicas, avail, [])
        if assigned > self.replicas:
            return self._divide(self.replicas, _stable_desc(scheduled), [])
        if assigned < self.replicas:
            avail = _stable_desc([(c.name, c.allocatable) for c in candidates])
            return self._divide(self.replicas - assigned, avail, scheduled)
        return scheduled

    def _divide(
        self, target: int, avail: list[tuple[str, int]], scheduled: list[tuple[str, int]]
    ) -> list[tuple[str, int]]:
        total = sum(n for _, n in avail)
        if total < target:
            raise NoFit(UNSCHEDULABLE, f"Clusters available replicas {total} are not enough to schedule.")
        if self.strategy == _AGGREGATED:
            prior = {n for n, r in scheduled if r > 0}
            ordered = [a for a in avail if a[0] in prior] + [a for a in avail if a[0] not in prior]
            prefix, running = [], 0
            for item in ordered:
                if running >= target:
                    break
                prefix.append(item)
                running += item[1]
            avail = prefix
        new = allocate_by_weight(target, avail, self.uid)
        merged: dict[str, int] = {}
        for name, n in new:
            merged[name] = merged.get(name, 0) + n
        for name, n in scheduled:
            merged[name] = merged.get(name, 0) + n
        return list(merged.items())


def _select_by_cluster(constraint: Mapping[str, Any], ranked: list[_Candidate], need: int) -> list[_Candidate]:
    min_groups = int(constraint.get("minGroups") or 1)
    max_groups = int(constraint.get("maxGroups") or 0)
    if len(ranked) < min_groups:
        raise NoFit(SCHEDULER_ERROR, "the number of feasible clusters is less than spreadConstraint.MinGroups")
    n = min(len(ranked), max_groups)
    if need == -1:
        return ranked[:n]
    chosen, rest = ranked[:n], ranked[n:]
    i = n - 1
    while sum(c.available for c in chosen) < need and i >= 0:
        best_j = -1
        for j, c in enumerate(rest):
            if c.available > chosen[i].available and (best_j < 0 or c.available > rest[best_j].available):
                best_j = j
        if best_j >= 0:
            chosen[i], rest[best_j] = rest[best_j], chosen[i]
        i -= 1
    if sum(c.available for c in chosen) < need:
        raise NoFit(SCHEDULER_ERROR, f"no enough resource when selecting {n} clusters")
    return chosen


# --- helpers ----------------------------------------------------------------------------------


def _stable_desc(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(items, key=lambda item: -item[1])


def _name(cluster: Mapping[str, Any]) -> str:
    return str((cluster.get("metadata") or {}).get("name") or "")


def _labels(cluster: Mapping[str, Any]) -> dict[str, str]:
    return dict((cluster.get("metadata") or {}).get("labels") or {})


def _api_enabled(cluster: Mapping[str, Any], api_version: str, kind: str) -> bool:
    for gv in (cluster.get("status") or {}).get("apiEnablements") or ():
        if gv.get("groupVersion") == api_version and any(r.get("kind") == kind for r in gv.get("resources") or ()):
            return True
    return False


def _match_zones(expr: Mapping[str, Any], zones: list[str]) -> bool:
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
    """One ``NodeSelectorRequirement`` over ``fields``; an invalid requirement matches nothing."""
    key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or ()]
    present = key in fields
    if op == "In":
        return bool(values) and present and fields[str(key)] in values
    if op == "NotIn":
        return bool(values) and (not present or fields[str(key)] not in values)
    if op == "Exists":
        return not values and present
    if op == "DoesNotExist":
        return not values and not present
    if op in ("Gt", "Lt"):
        if len(values) != 1 or not present:
            return False
        try:
            have, want = int(fields[str(key)]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def placement_fingerprint(placement: Mapping[str, Any] | None) -> str:
    """Canonical JSON of a placement (what ``policy.karmada.io/applied-placement`` records)."""
    return json.dumps(placement or {}, sort_keys=True, separators=(",", ":"))
