"""What the fleet service reports about a ``FederatedDeployment``'s objects, read from its status.

Pure code over two fleet status documents (integration with the fleet's watchers, see
``kurator_fleet.watchers.placements``):

* the ``Propagation``'s (``kurator.status.fleet.propagation.<ns>.<name>``): the spec as the fleet
  accepted it (with our generation annotation), ``status.placements`` - one line per template
  with the clusters its binding chose and a phase;
* the ``Deployment``'s (``kurator.status.fleet.deployment.<ns>.<name>``): ``status.placement``
  with, per scheduled cluster, the replicas assigned, whether the cluster is ready, whether the
  work was applied and the member Deployment's own status (``readyReplicas``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kurator_apps.federated import propagation


@dataclass(frozen=True, slots=True)
class Member:
    """One member cluster as the Deployment's binding reports it."""

    name: str
    assigned: int | None
    ready: int
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Placed:
    """One template's placement line (the Deployment's, or a companion's)."""

    kind: str
    name: str
    clusters: tuple[str, ...]
    phase: str


@dataclass(frozen=True, slots=True)
class FleetView:
    """The fleet's status of a FederatedDeployment's Propagation."""

    generation: int | None
    """The FederatedDeployment generation the fleet has applied (``None``: not known)."""
    phase: str
    placed: tuple[Placed, ...]
    held: int | None = None
    """The ``metadata.generation`` of the Propagation the fleet holds: it moves whenever what
    :attr:`fingerprint` covers does."""
    content: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Its annotations and spec, for :attr:`fingerprint`."""

    @property
    def fingerprint(self) -> str:
        """:func:`~kurator_apps.federated.propagation.fingerprint` of the Propagation the fleet
        holds (worked out when asked: only a Propagation that may need publishing again is)."""
        return propagation.fingerprint(self.content)

    def line(self, kind: str) -> Placed | None:
        return next((p for p in self.placed if p.kind == kind), None)


def owner_of(document: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(namespace, name)`` of the FederatedDeployment a fleet Propagation is for, else ``None``."""
    owner = (document.get("spec") or {}).get("owner") or {}
    if owner.get("service") != "apps" or owner.get("kind") != "FederatedDeployment" or not owner.get("name"):
        return None
    namespace = owner.get("namespace") or (document.get("metadata") or {}).get("namespace") or "default"
    return str(namespace), str(owner["name"])


def fleet_view(document: Mapping[str, Any]) -> FleetView:
    st = document.get("status") or {}
    meta = document.get("metadata") or {}
    held = meta.get("generation")
    observed = st.get("observedGeneration")
    placed = []
    for line in st.get("placements") or ():
        resource = line.get("resource") or {}
        placed.append(
            Placed(
                kind=str(resource.get("kind", "")),
                name=str(resource.get("name", "")),
                clusters=tuple([str(c.get("name")) for c in line.get("clusters") or () if c.get("name")]),
                phase=str(line.get("phase", "")),
            )
        )
    annotations = meta.get("annotations") or {}
    return FleetView(
        generation=propagation.generation_in(annotations) if observed is not None and observed == held else None,
        phase=str(st.get("phase") or "Pending"),
        placed=tuple(placed),
        held=held if isinstance(held, int) else None,
        content={"metadata": {"annotations": annotations}, "spec": document.get("spec") or {}},
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def members(document: Mapping[str, Any]) -> tuple[Member, ...]:
    """The clusters in a fleet Deployment status, with ready replicas and why one failed."""
    out = []
    for entry in ((document.get("status") or {}).get("placement") or {}).get("clusters") or ():
        name = entry.get("name")
        if not name:
            continue
        member = entry.get("status") or {}
        ready = _count(member.get("readyReplicas"))
        if "updatedReplicas" in member:  # pods of an older template are not this rollout's
            ready = min(ready, _count(member.get("updatedReplicas")))
        failure = None
        if entry.get("clusterReady") is False:
            failure = "cluster not ready"
        elif entry.get("applied") is False:
            failure = f"not applied: {entry.get('appliedMessage') or 'unknown reason'}"
        assigned = entry.get("replicas")
        out.append(Member(str(name), assigned if isinstance(assigned, int) else None, ready, failure))
    return tuple(out)
