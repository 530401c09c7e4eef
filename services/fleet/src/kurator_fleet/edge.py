"""Edge sites in the fleet: which member clusters are edge sites, and the label that says so.

An edge site (a KubeEdge cloud core with its edge nodes, announced by the edge service or
joined by hand) joins through the same intents as any cluster (``Cluster`` or
``AttachedCluster``) and is recognised by either its provider (``spec.provider: kubeedge``) or
the label ``kurator.dev/edge: "true"`` on the intent. The fleet service makes sure the Karmada
``Cluster`` carries that label, so policies can select or avoid edge sites with an ordinary
label selector (``kurator.dev/edge NotIn [true]``), and reports ``edge: true`` in the
cluster's status and join event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

LABEL: Final = "kurator.dev/edge"
PROVIDER: Final = "kubeedge"


def is_edge(labels: Mapping[str, str] | None, provider: str | None) -> bool:
    return (labels or {}).get(LABEL) == "true" or provider == PROVIDER


def labelled(cluster: Mapping[str, Any], *, edge: bool) -> dict[str, Any]:
    """``cluster`` (a Karmada ``Cluster`` body) with the edge label when ``edge``."""
    out = dict(cluster)
    if not edge:
        return out
    meta = dict(out.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), LABEL: "true"}
    out["metadata"] = meta
    return out


def of_cluster(cluster: Mapping[str, Any]) -> bool:
    """Whether a Karmada ``Cluster`` body is an edge site."""
    meta = cluster.get("metadata") or {}
    spec = cluster.get("spec") or {}
    return is_edge(meta.get("labels"), spec.get("provider"))
