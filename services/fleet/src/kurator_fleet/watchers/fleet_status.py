"""A Kurator ``Fleet``'s observed status, from its desired document and the clusters watched.

Pure code. Members are the clusters the Fleet lists in ``spec.clusters`` plus those labelled
``fleet.kurator.dev/fleet-name=<fleet>`` (and, when present, ``fleet-namespace=<namespace>``).
As upstream Kurator reports it (kurator-upstream.md 1.1): ``readyClusters`` and
``unReadyClusters``, and ``phase: Ready`` (the fleet's control plane, Karmada, is what we
watch). Added: ``members`` (each cluster's phase, readiness and Karmada ``Ready`` condition; a
listed cluster Karmada does not have is ``Unknown``/``ClusterNotJoined``) and a
``ClustersReady`` condition. ``status.clusters`` stays the write side's (the names it labelled).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kurator_fleet import observed
from kurator_fleet.watchers import clusters
from kurator_fleet.watchers.clusters import ClusterView

OWNERSHIP: Final = observed.Ownership(
    fields=frozenset({"readyClusters", "unReadyClusters", "members"}),
    conditions=frozenset({"ClustersReady"}),
    phase=True,
)


def members(document: Mapping[str, Any], known: Mapping[str, ClusterView]) -> list[tuple[str, str]]:
    """``(cluster name, kind)`` of every member: listed first, in order, then labelled ones."""
    meta = document.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace") or "default")
    out: dict[str, str] = {}
    for ref in (document.get("spec") or {}).get("clusters") or ():
        if isinstance(ref, Mapping) and ref.get("name"):
            out.setdefault(str(ref["name"]), str(ref.get("kind") or "Cluster"))
    for cluster in sorted(known.values(), key=lambda c: c.name):
        if cluster.fleet == name and cluster.fleet_namespace in (None, namespace):
            out.setdefault(cluster.name, "AttachedCluster" if cluster.attached_namespace else "Cluster")
    return list(out.items())


def observation(document: Mapping[str, Any], known: Mapping[str, ClusterView]) -> observed.Observation:
    entries: list[dict[str, Any]] = []
    not_ready: list[str] = []
    latest = ""
    for name, kind in members(document, known):
        cluster = known.get(name)
        if cluster is None:
            condition: Mapping[str, Any] = clusters.absent_observation(name).conditions[0]
            phase, ready = clusters.UNKNOWN, False
        else:
            condition = cluster.condition("Ready") or {"type": "Ready", "status": "Unknown", "reason": "NoStatusYet"}
            phase, ready = cluster.phase, cluster.ready
        latest = max(latest, str(condition.get("lastTransitionTime") or ""))
        entries.append({"name": name, "kind": kind, "phase": phase, "ready": ready, "conditions": [dict(condition)]})
        if not ready:
            not_ready.append(name)
    total = len(entries)
    if total == 0:
        status, reason, message = "False", "NoClusters", "the fleet has no member clusters"
    elif not not_ready:
        status, reason, message = "True", "AllClustersReady", f"all {total} member clusters are ready"
    else:
        status, reason = "False", "ClustersNotReady"
        message = f"{total - len(not_ready)} of {total} member clusters ready; not ready: {', '.join(not_ready)}"
    ready_condition: dict[str, Any] = {"type": "ClustersReady", "status": status, "reason": reason, "message": message}
    if latest:
        # The latest member transition: deterministic, so an unchanged fleet is not republished.
        ready_condition["lastTransitionTime"] = latest
    return observed.Observation(
        owner=OWNERSHIP,
        fields={"readyClusters": total - len(not_ready), "unReadyClusters": len(not_ready), "members": entries},
        conditions=(ready_condition,),
        phase="Ready",
    )
