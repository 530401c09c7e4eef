"""Where a ``FederatedDeployment``'s replicas run, as a Karmada placement and as numbers.

The four forms of ``spec.placement`` (:class:`~shared.contracts.models.apps.FederatedPlacement`):

* ``clusters: [{name, replicas}]`` - exact counts. The placement names the clusters that get
  replicas (``clusterAffinity.clusterNames``) and divides the Deployment's
  ``replicas = sum(counts)`` with ``Divided``/``Weighted`` and a static weight list whose weight
  for each cluster *is* its count. That is exact: Karmada divides by the Webster method, and a
  divisor method returns the quotas themselves whenever they are whole numbers - here the quota
  of cluster *i* is ``total * w_i / sum(w) = w_i``. (With divisor 1 every cluster rounds to
  exactly its weight and the seats add up to the total; any other divisor moves every cluster's
  share the same way, so it cannot also add up to the total.) No tie-break is ever consulted, so
  the workload's uid does not matter. Clusters asked for 0 replicas are left out of the
  placement, so they get neither pods nor companions; when every count is 0, the listed clusters
  keep the Deployment scaled to zero (``Duplicated`` with ``replicas: 0``).
  Exactness holds while every named cluster is a scheduling candidate: if Karmada filters one
  out (not ready, tainted), static weighting hands its share to the others until it is back,
  and the status shows the difference.
* ``clusters: [{name}]`` without counts - every listed cluster runs ``template.spec.replicas``
  (``Duplicated`` over the named clusters).
* ``clusterSelector`` - every member cluster it selects runs ``template.spec.replicas``
  (``Duplicated``, ``clusterAffinity.labelSelector``).
* ``clusterSelector`` with ``weights`` - ``template.spec.replicas`` divided by the weights
  (``Divided``/``Weighted``, one static weight per rule). The counts per cluster are a
  prediction by Karmada's own rule (:mod:`.division`): a selected cluster takes the largest
  weight of the rules matching it; clusters matching none get nothing, unless none matches any,
  when all weigh 1; ties depend on the Deployment's uid in Karmada.

``template.spec.replicas`` left out means 1, as Kubernetes defaults it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kurator_apps.federated import division
from shared.contracts.models import apps, common

ClusterLabels = Mapping[str, Mapping[str, str]]
"""``{member cluster name: its labels}``: the fleet as a label selector sees it."""


@dataclass(frozen=True, slots=True)
class ReplicaPlacement:
    placement: dict[str, Any]
    """Karmada's ``spec.placement`` (JSON-ready)."""
    total: int
    """The Deployment's ``spec.replicas`` in Karmada."""
    per_cluster: dict[str, int]
    """What each cluster should run (clusters with 0 included when they keep a scaled-down Deployment)."""
    exact: bool
    """``True``: the counts are the intent's own; ``False``: predicted (weighted selector)."""


def _selector(selector: common.LabelSelector) -> dict[str, Any]:
    return selector.model_dump(mode="json", by_alias=True, exclude_none=True)


def _duplicated(affinity: dict[str, Any]) -> dict[str, Any]:
    return {"clusterAffinity": affinity, "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}


def _weighted(affinity: dict[str, Any], weights: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "clusterAffinity": affinity,
        "replicaScheduling": {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": "Weighted",
            "weightPreference": {"staticWeightList": weights},
        },
    }


def _explicit(counts: dict[str, int]) -> ReplicaPlacement:
    targets = {name: n for name, n in counts.items() if n > 0}
    if not targets:
        return ReplicaPlacement(_duplicated({"clusterNames": list(counts)}), 0, dict(counts), exact=True)
    weights = [{"targetCluster": {"clusterNames": [name]}, "weight": n} for name, n in targets.items()]
    return ReplicaPlacement(_weighted({"clusterNames": list(targets)}, weights), sum(targets.values()), targets, True)


def _rule_target(rule: apps.PlacementWeight) -> dict[str, Any]:
    if rule.cluster_selector is not None:
        return {"labelSelector": _selector(rule.cluster_selector)}
    return {"clusterNames": list(rule.names or ())}


def _rule_weight(rule: apps.PlacementWeight, name: str, labels: Mapping[str, str]) -> int:
    if rule.cluster_selector is not None:
        return rule.weight if rule.cluster_selector.matches(labels) else 0
    return rule.weight if name in (rule.names or ()) else 0


def _by_weights(
    selector: common.LabelSelector,
    rules: list[apps.PlacementWeight],
    replicas: int,
    selected: dict[str, Mapping[str, str]],
    uid: str,
) -> ReplicaPlacement:
    weights = [{"targetCluster": _rule_target(r), "weight": r.weight} for r in rules]
    # Karmada: a cluster takes the largest weight of the rules matching it; if no selected
    # cluster matches any rule, all of them weigh 1.
    matched = [(name, max(_rule_weight(r, name, labels) for r in rules)) for name, labels in selected.items()]
    votes = [(name, w) for name, w in matched if w > 0] or [(name, 1) for name in selected]
    predicted = division.webster(replicas, votes, uid=uid)
    placement = _weighted({"labelSelector": _selector(selector)}, weights)
    return ReplicaPlacement(placement, replicas, predicted, exact=False)


def replica_placement(
    fd: apps.FederatedDeployment, *, clusters: ClusterLabels, template_uid: str = ""
) -> ReplicaPlacement:
    """The placement for ``fd`` and the replicas per cluster (module docstring).

    ``clusters`` are the fleet's members (for selectors); ``template_uid`` the Deployment's uid
    in Karmada when known (it decides ties in a weighted division).
    """
    placement = fd.spec.placement
    replicas = 1 if fd.spec.template.spec.replicas is None else fd.spec.template.spec.replicas
    explicit = placement.explicit_replicas
    if explicit is not None:
        return _explicit(explicit)
    if placement.clusters is not None:
        names = [c.name for c in placement.clusters]
        return ReplicaPlacement(_duplicated({"clusterNames": names}), replicas, dict.fromkeys(names, replicas), True)
    assert placement.cluster_selector is not None  # the model requires clusters or clusterSelector
    selected = {n: labels for n, labels in sorted(clusters.items()) if placement.cluster_selector.matches(labels)}
    if placement.weights:  # an empty list says nothing about division: as if absent
        return _by_weights(placement.cluster_selector, placement.weights, replicas, selected, template_uid)
    affinity = {"labelSelector": _selector(placement.cluster_selector)}
    return ReplicaPlacement(_duplicated(affinity), replicas, dict.fromkeys(selected, replicas), True)
