"""The fleet as the mesh sees it: member clusters, and which of them are the mesh's primaries.

Istio reads ``VirtualService``/``DestinationRule`` only from primary clusters' API servers
(integrations.md 3.7), so the config must be written to the primary (or, multi-primary, to
every primary). The primaries are chosen by a cluster label:

1. the clusters labelled ``istio.kurator.dev/primary: "true"``, if any cluster is;
2. otherwise every member cluster - the multi-primary topology Istio recommends, where each
   cluster runs its own istiod and all of them must hold identical config - except clusters
   labelled ``istio.kurator.dev/primary: "false"`` (opted out, e.g. remotes of a
   primary-remote mesh written to by nobody) and edge sites (``kurator.dev/edge: "true"``),
   which run no istiod.

Readiness does not change the choice: a primary that is down gets the config when it is back,
and the status reports it as not ready meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

PRIMARY_LABEL: Final = "istio.kurator.dev/primary"
EDGE_LABEL: Final = "kurator.dev/edge"


@dataclass(frozen=True, slots=True)
class MemberCluster:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ready: bool = False

    @classmethod
    def from_karmada(cls, cluster: Mapping[str, Any]) -> MemberCluster:
        """A ``cluster.karmada.io/v1alpha1`` ``Cluster`` dict: ready when its ``Ready`` condition is ``True``."""
        meta = cluster.get("metadata") or {}
        conditions = (cluster.get("status") or {}).get("conditions") or ()
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return cls(name=str(meta.get("name") or ""), labels=dict(meta.get("labels") or {}), ready=ready)


def primary_clusters(clusters: Iterable[MemberCluster]) -> tuple[str, ...]:
    """The names of the mesh's primary clusters, sorted (see the module docstring)."""
    members = list(clusters)
    chosen = [c for c in members if c.labels.get(PRIMARY_LABEL) == "true"]
    if not chosen:
        chosen = [c for c in members if c.labels.get(PRIMARY_LABEL) != "false" and c.labels.get(EDGE_LABEL) != "true"]
    return tuple(sorted(c.name for c in chosen))
